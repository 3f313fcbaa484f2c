;; The source of ROW_COPY_MODULE in row-copy.ts (a test assembles it with wabt and compares the
;; bytes). It imports the memory of tfjs-backend-wasm's module, the heap that holds every tensor.
(module
  (import "tfjs" "memory" (memory 0))
  ;; copyRows(src, dst, rows, rowBytes, srcStride, dstStride), all in bytes, rowBytes a multiple
  ;; of 4: row r goes from src + r * srcStride to dst + r * dstStride, 16 bytes at a time, then 4.
  ;; Loads and stores move bits: every NaN payload survives.
  (func (export "copyRows") (param $src i32) (param $dst i32) (param $rows i32) (param $bytes i32) (param $srcStride i32) (param $dstStride i32)
    (local $i i32) (local $wide i32)
    (local.set $wide (i32.and (local.get $bytes) (i32.const -16)))
    (block $done
      (loop $row
        (br_if $done (i32.eqz (local.get $rows)))
        (local.set $i (i32.const 0))
        (block $end16
          (loop $by16
            (br_if $end16 (i32.ge_u (local.get $i) (local.get $wide)))
            (v128.store align=1 (i32.add (local.get $dst) (local.get $i)) (v128.load align=1 (i32.add (local.get $src) (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $by16)))
        (block $end4
          (loop $by4
            (br_if $end4 (i32.ge_u (local.get $i) (local.get $bytes)))
            (i32.store align=1 (i32.add (local.get $dst) (local.get $i)) (i32.load align=1 (i32.add (local.get $src) (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $by4)))
        (local.set $src (i32.add (local.get $src) (local.get $srcStride)))
        (local.set $dst (i32.add (local.get $dst) (local.get $dstStride)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $row)))))
