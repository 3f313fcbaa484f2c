;; The source of HEAP_MODULE in heap-module.ts (a test assembles it with wabt and compares the
;; bytes). It imports the memory of tfjs-backend-wasm's module, the heap that holds every tensor.
;; Addresses and strides are in bytes.
(module
  (import "tfjs" "memory" (memory 0))

  ;; copyRows(src, dst, rows, rowBytes, srcStride, dstStride), rowBytes a multiple of 4: row r
  ;; goes from src + r * srcStride to dst + r * dstStride, 16 bytes at a time, then 4. Loads and
  ;; stores move bits: every NaN payload survives.
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
        (br $row))))

  ;; addRows(src, dst, outer, reduced, inner, mean): src is float32 [outer, reduced, inner]; for
  ;; each o, dst[o * inner + c] = the float32 sum over r, in order, of src[(o * reduced + r) * inner + c],
  ;; starting at +0 (four channels per SIMD addition, each lane its own channel's sum), then, where
  ;; mean is non-zero, divided by reduced as a float32.
  (func (export "addRows") (param $src i32) (param $dst i32) (param $outer i32) (param $reduced i32) (param $inner i32) (param $mean i32)
    (local $bytes i32) (local $wide i32) (local $r i32) (local $i i32) (local $divisor f32)
    (local.set $bytes (i32.shl (local.get $inner) (i32.const 2)))
    (local.set $wide (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $divisor (f32.convert_i32_u (local.get $reduced)))
    (block $done
      (loop $block
        (br_if $done (i32.eqz (local.get $outer)))
        ;; dst's row of sums starts at +0
        (local.set $i (i32.const 0))
        (block $zeroed
          (loop $zero
            (br_if $zeroed (i32.ge_u (local.get $i) (local.get $bytes)))
            (f32.store align=1 (i32.add (local.get $dst) (local.get $i)) (f32.const 0))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $zero)))
        ;; each row of src added in turn
        (local.set $r (local.get $reduced))
        (block $added
          (loop $row
            (br_if $added (i32.eqz (local.get $r)))
            (local.set $i (i32.const 0))
            (block $end16
              (loop $by16
                (br_if $end16 (i32.ge_u (local.get $i) (local.get $wide)))
                (v128.store align=1 (i32.add (local.get $dst) (local.get $i))
                  (f32x4.add (v128.load align=1 (i32.add (local.get $dst) (local.get $i))) (v128.load align=1 (i32.add (local.get $src) (local.get $i)))))
                (local.set $i (i32.add (local.get $i) (i32.const 16)))
                (br $by16)))
            (block $end4
              (loop $by4
                (br_if $end4 (i32.ge_u (local.get $i) (local.get $bytes)))
                (f32.store align=1 (i32.add (local.get $dst) (local.get $i))
                  (f32.add (f32.load align=1 (i32.add (local.get $dst) (local.get $i))) (f32.load align=1 (i32.add (local.get $src) (local.get $i)))))
                (local.set $i (i32.add (local.get $i) (i32.const 4)))
                (br $by4)))
            (local.set $src (i32.add (local.get $src) (local.get $bytes)))
            (local.set $r (i32.sub (local.get $r) (i32.const 1)))
            (br $row)))
        ;; the mean: each sum divided by reduced
        (if (local.get $mean)
          (then
            (local.set $i (i32.const 0))
            (block $divided
              (loop $divide
                (br_if $divided (i32.ge_u (local.get $i) (local.get $bytes)))
                (f32.store align=1 (i32.add (local.get $dst) (local.get $i))
                  (f32.div (f32.load align=1 (i32.add (local.get $dst) (local.get $i))) (local.get $divisor)))
                (local.set $i (i32.add (local.get $i) (i32.const 4)))
                (br $divide)))))
        (local.set $dst (i32.add (local.get $dst) (local.get $bytes)))
        (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
        (br $block))))

  ;; transpose(src, dst, rows, cols): dst [cols, rows] from src [rows, cols] of 4-byte values, moving
  ;; bits: tiles of 4x4 by four 16-byte loads, eight shuffles and four 16-byte stores, row band by
  ;; row band; the rows and columns past the last whole tile one value at a time.
  (func (export "transpose") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $srcRow i32) (local $dstRow i32) (local $rows4 i32) (local $cols4 i32) (local $r i32) (local $c i32) (local $p i32) (local $q i32)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $srcRow (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $dstRow (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $r (i32.const 0))
    (block $bandsDone
      (loop $band
        (br_if $bandsDone (i32.ge_u (local.get $r) (local.get $rows4)))
        (local.set $c (i32.const 0))
        (block $tilesDone
          (loop $tile
            (br_if $tilesDone (i32.ge_u (local.get $c) (local.get $cols4)))
            (local.set $p (i32.add (local.get $src) (i32.add (i32.mul (local.get $r) (local.get $srcRow)) (i32.shl (local.get $c) (i32.const 2)))))
            (local.set $q (i32.add (local.get $dst) (i32.add (i32.mul (local.get $c) (local.get $dstRow)) (i32.shl (local.get $r) (i32.const 2)))))
            ;; rows a, b (t0: a0 b0 a1 b1, t1: a2 b2 a3 b3) and e, f (t2, t3 likewise)
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
              (v128.load align=1 (local.get $p)) (v128.load align=1 (i32.add (local.get $p) (local.get $srcRow)))))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
              (v128.load align=1 (local.get $p)) (v128.load align=1 (i32.add (local.get $p) (local.get $srcRow)))))
            (local.set $p (i32.add (local.get $p) (i32.shl (local.get $srcRow) (i32.const 1))))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
              (v128.load align=1 (local.get $p)) (v128.load align=1 (i32.add (local.get $p) (local.get $srcRow)))))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
              (v128.load align=1 (local.get $p)) (v128.load align=1 (i32.add (local.get $p) (local.get $srcRow)))))
            ;; columns 0 to 3 of the tile: a0 b0 e0 f0, a1 b1 e1 f1, ...
            (v128.store align=1 (local.get $q)
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (v128.store align=1 (i32.add (local.get $q) (local.get $dstRow))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (local.set $q (i32.add (local.get $q) (i32.shl (local.get $dstRow) (i32.const 1))))
            (v128.store align=1 (local.get $q)
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (v128.store align=1 (i32.add (local.get $q) (local.get $dstRow))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $tile)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $band)))
    ;; the rest: columns from cols4 in the banded rows, every column in the rows from rows4
    (local.set $r (i32.const 0))
    (block $restDone
      (loop $restRow
        (br_if $restDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $c (select (local.get $cols4) (i32.const 0) (i32.lt_u (local.get $r) (local.get $rows4))))
        (block $rowDone
          (loop $value
            (br_if $rowDone (i32.ge_u (local.get $c) (local.get $cols)))
            (i32.store align=1
              (i32.add (local.get $dst) (i32.add (i32.mul (local.get $c) (local.get $dstRow)) (i32.shl (local.get $r) (i32.const 2))))
              (i32.load align=1 (i32.add (local.get $src) (i32.add (i32.mul (local.get $r) (local.get $srcRow)) (i32.shl (local.get $c) (i32.const 2))))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $value)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $restRow))))

  ;; normalize(src, dst, rows, channels, params, dy): float32 x [rows, channels] at src normalized
  ;; into dst as tfjs-backend-wasm 4.22's FusedBatchNorm does it, bit for bit: (x - mean) * scale
  ;; in float32, divided by the channel's divisor and plus its offset in float64, rounded to
  ;; float32 once. params holds, per channel, mean and scale (float32 [channels] each), then divisor
  ;; and offset (float64 [channels] each), then a (float32 [channels]). With dy non-zero (float32
  ;; [rows, channels]), dst is dy * a - that in float32 instead: the zoo's batch-norm gradient's
  ;; sub(mul(dy, a), correction) in one pass. Four channels per pass, two float64 lanes at a time.
  (func (export "normalize") (param $src i32) (param $dst i32) (param $rows i32) (param $channels i32) (param $params i32) (param $dy i32)
    (local $bytes i32) (local $wide i32) (local $i i32) (local $i2 i32) (local $scale i32) (local $divisor i32) (local $offset i32) (local $a i32)
    (local $v v128) (local $lo v128) (local $hi v128) (local $one f32)
    (local.set $bytes (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $wide (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $scale (i32.add (local.get $params) (local.get $bytes)))
    (local.set $divisor (i32.add (local.get $scale) (local.get $bytes)))
    (local.set $offset (i32.add (local.get $divisor) (i32.shl (local.get $bytes) (i32.const 1))))
    (local.set $a (i32.add (local.get $offset) (i32.shl (local.get $bytes) (i32.const 1))))
    (block $done
      (loop $row
        (br_if $done (i32.eqz (local.get $rows)))
        (local.set $i (i32.const 0))
        (block $end16
          (loop $by16
            (br_if $end16 (i32.ge_u (local.get $i) (local.get $wide)))
            (local.set $i2 (i32.shl (local.get $i) (i32.const 1)))
            (local.set $v (f32x4.mul
              (f32x4.sub (v128.load align=1 (i32.add (local.get $src) (local.get $i))) (v128.load align=1 (i32.add (local.get $params) (local.get $i))))
              (v128.load align=1 (i32.add (local.get $scale) (local.get $i)))))
            ;; lanes 0 and 1, then 2 and 3, as float64
            (local.set $lo (f64x2.add
              (f64x2.div (f64x2.promote_low_f32x4 (local.get $v)) (v128.load align=1 (i32.add (local.get $divisor) (local.get $i2))))
              (v128.load align=1 (i32.add (local.get $offset) (local.get $i2)))))
            (local.set $hi (f64x2.add
              (f64x2.div
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
                (v128.load offset=16 align=1 (i32.add (local.get $divisor) (local.get $i2))))
              (v128.load offset=16 align=1 (i32.add (local.get $offset) (local.get $i2)))))
            (local.set $v (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))
            (if (local.get $dy)
              (then (local.set $v (f32x4.sub
                (f32x4.mul (v128.load align=1 (i32.add (local.get $dy) (local.get $i))) (v128.load align=1 (i32.add (local.get $a) (local.get $i))))
                (local.get $v)))))
            (v128.store align=1 (i32.add (local.get $dst) (local.get $i)) (local.get $v))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $by16)))
        (block $end4
          (loop $by4
            (br_if $end4 (i32.ge_u (local.get $i) (local.get $bytes)))
            (local.set $i2 (i32.shl (local.get $i) (i32.const 1)))
            (local.set $one (f32.demote_f64 (f64.add
              (f64.div
                (f64.promote_f32 (f32.mul
                  (f32.sub (f32.load align=1 (i32.add (local.get $src) (local.get $i))) (f32.load align=1 (i32.add (local.get $params) (local.get $i))))
                  (f32.load align=1 (i32.add (local.get $scale) (local.get $i)))))
                (f64.load align=1 (i32.add (local.get $divisor) (local.get $i2))))
              (f64.load align=1 (i32.add (local.get $offset) (local.get $i2))))))
            (if (local.get $dy)
              (then (local.set $one (f32.sub
                (f32.mul (f32.load align=1 (i32.add (local.get $dy) (local.get $i))) (f32.load align=1 (i32.add (local.get $a) (local.get $i))))
                (local.get $one)))))
            (f32.store align=1 (i32.add (local.get $dst) (local.get $i)) (local.get $one))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $by4)))
        (if (local.get $dy) (then (local.set $dy (i32.add (local.get $dy) (local.get $bytes)))))
        (local.set $src (i32.add (local.get $src) (local.get $bytes)))
        (local.set $dst (i32.add (local.get $dst) (local.get $bytes)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $row))))

  ;; momentSums(src, dst, rows, channels, mean): for float32 x [rows, channels] at src, dst[c] = the
  ;; float32 sum over r, in order from +0, of d * d in float32, d = x[r, c] - mean[c] in float32 (the
  ;; adds of tfjs-core's mean(square(sub(x, mean))) on our Sum, before its division).
  (func (export "momentSums") (param $src i32) (param $dst i32) (param $rows i32) (param $channels i32) (param $mean i32)
    (local $bytes i32) (local $wide i32) (local $i i32) (local $d v128) (local $e f32)
    (local.set $bytes (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $wide (i32.and (local.get $bytes) (i32.const -16)))
    (memory.fill (local.get $dst) (i32.const 0) (local.get $bytes))
    (block $done
      (loop $row
        (br_if $done (i32.eqz (local.get $rows)))
        (local.set $i (i32.const 0))
        (block $end16
          (loop $by16
            (br_if $end16 (i32.ge_u (local.get $i) (local.get $wide)))
            (local.set $d (f32x4.sub (v128.load align=1 (i32.add (local.get $src) (local.get $i))) (v128.load align=1 (i32.add (local.get $mean) (local.get $i)))))
            (v128.store align=1 (i32.add (local.get $dst) (local.get $i))
              (f32x4.add (v128.load align=1 (i32.add (local.get $dst) (local.get $i))) (f32x4.mul (local.get $d) (local.get $d))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $by16)))
        (block $end4
          (loop $by4
            (br_if $end4 (i32.ge_u (local.get $i) (local.get $bytes)))
            (local.set $e (f32.sub (f32.load align=1 (i32.add (local.get $src) (local.get $i))) (f32.load align=1 (i32.add (local.get $mean) (local.get $i)))))
            (f32.store align=1 (i32.add (local.get $dst) (local.get $i))
              (f32.add (f32.load align=1 (i32.add (local.get $dst) (local.get $i))) (f32.mul (local.get $e) (local.get $e))))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $by4)))
        (local.set $src (i32.add (local.get $src) (local.get $bytes)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $row))))

  ;; gradientSums(dy, x, dst, second, rows, channels, mean): for float32 dy and x [rows, channels],
  ;; dst[c] = the float32 sum over r, in order from +0, of dy[r, c], and second[c] that of
  ;; dy[r, c] * (x[r, c] - mean[c]), each operation in float32 (the zoo's batch-norm gradient's
  ;; sum(dy) and sum(mul(dy, sub(x, mean))) on our Sum).
  (func (export "gradientSums") (param $dy i32) (param $src i32) (param $dst i32) (param $second i32) (param $rows i32) (param $channels i32) (param $mean i32)
    (local $bytes i32) (local $wide i32) (local $i i32) (local $g v128) (local $h f32)
    (local.set $bytes (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $wide (i32.and (local.get $bytes) (i32.const -16)))
    (memory.fill (local.get $dst) (i32.const 0) (local.get $bytes))
    (memory.fill (local.get $second) (i32.const 0) (local.get $bytes))
    (block $done
      (loop $row
        (br_if $done (i32.eqz (local.get $rows)))
        (local.set $i (i32.const 0))
        (block $end16
          (loop $by16
            (br_if $end16 (i32.ge_u (local.get $i) (local.get $wide)))
            (local.set $g (v128.load align=1 (i32.add (local.get $dy) (local.get $i))))
            (v128.store align=1 (i32.add (local.get $dst) (local.get $i))
              (f32x4.add (v128.load align=1 (i32.add (local.get $dst) (local.get $i))) (local.get $g)))
            (v128.store align=1 (i32.add (local.get $second) (local.get $i))
              (f32x4.add (v128.load align=1 (i32.add (local.get $second) (local.get $i)))
                (f32x4.mul (local.get $g)
                  (f32x4.sub (v128.load align=1 (i32.add (local.get $src) (local.get $i))) (v128.load align=1 (i32.add (local.get $mean) (local.get $i)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $by16)))
        (block $end4
          (loop $by4
            (br_if $end4 (i32.ge_u (local.get $i) (local.get $bytes)))
            (local.set $h (f32.load align=1 (i32.add (local.get $dy) (local.get $i))))
            (f32.store align=1 (i32.add (local.get $dst) (local.get $i))
              (f32.add (f32.load align=1 (i32.add (local.get $dst) (local.get $i))) (local.get $h)))
            (f32.store align=1 (i32.add (local.get $second) (local.get $i))
              (f32.add (f32.load align=1 (i32.add (local.get $second) (local.get $i)))
                (f32.mul (local.get $h)
                  (f32.sub (f32.load align=1 (i32.add (local.get $src) (local.get $i))) (f32.load align=1 (i32.add (local.get $mean) (local.get $i)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $by4)))
        (local.set $dy (i32.add (local.get $dy) (local.get $bytes)))
        (local.set $src (i32.add (local.get $src) (local.get $bytes)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $row))))

  ;; maxPoolGradApart(x, dy, dx, batch, inHeight, inWidth, channels, outHeight, outWidth, fh, fw):
  ;; the gradient of max pooling x [batch, inHeight, inWidth, channels] (float32) with fh x fw
  ;; windows at stride fh x fw from (0, 0), which do not overlap: dx is dy + 0 at each window's
  ;; first strictly greatest input (from -Infinity, so NaN never is one) and 0 elsewhere. Four
  ;; channels at a time without branches (comparisons and selects: random data defeats branch
  ;; prediction), then one at a time.
  (func (export "maxPoolGradApart") (param $x i32) (param $dy i32) (param $dx i32) (param $batch i32) (param $inHeight i32) (param $inWidth i32)
    (param $channels i32) (param $outHeight i32) (param $outWidth i32) (param $fh i32) (param $fw i32)
    (local $pixel i32) (local $wide i32) (local $b i32) (local $oh i32) (local $ow i32) (local $h1 i32) (local $w1 i32)
    (local $ih i32) (local $iw i32) (local $c i32) (local $image i32) (local $off i32) (local $o i32)
    (local $best v128) (local $arg v128) (local $v v128) (local $mask v128) (local $g v128)
    (local $bestOne f32) (local $argOne i32) (local $vOne f32) (local $gOne f32)
    (local.set $pixel (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $wide (i32.and (local.get $pixel) (i32.const -16)))
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.mul (i32.mul (local.get $batch) (i32.mul (local.get $inHeight) (local.get $inWidth))) (local.get $pixel)))
    (local.set $o (i32.const 0))
    (local.set $b (i32.const 0))
    (block $batchesDone
      (loop $batchLoop
        (br_if $batchesDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $image (i32.mul (local.get $b) (local.get $inHeight)))
        (local.set $oh (i32.const 0))
        (block $rowsDone
          (loop $rowLoop
            (br_if $rowsDone (i32.ge_u (local.get $oh) (local.get $outHeight)))
            (local.set $h1 (i32.add (i32.mul (local.get $oh) (local.get $fh)) (local.get $fh)))
            (if (i32.gt_u (local.get $h1) (local.get $inHeight)) (then (local.set $h1 (local.get $inHeight))))
            (local.set $ow (i32.const 0))
            (block $colsDone
              (loop $colLoop
                (br_if $colsDone (i32.ge_u (local.get $ow) (local.get $outWidth)))
                (local.set $w1 (i32.add (i32.mul (local.get $ow) (local.get $fw)) (local.get $fw)))
                (if (i32.gt_u (local.get $w1) (local.get $inWidth)) (then (local.set $w1 (local.get $inWidth))))
                ;; four channels at a time: the window's maximum and where it is, then dx at each tap
                (local.set $c (i32.const 0))
                (block $groupsDone
                  (loop $groupLoop
                    (br_if $groupsDone (i32.ge_u (local.get $c) (local.get $wide)))
                    (local.set $best (f32x4.splat (f32.const -inf)))
                    (local.set $arg (i32x4.splat (i32.const -1)))
                    (local.set $ih (i32.mul (local.get $oh) (local.get $fh)))
                    (block $findRowsDone
                      (loop $findRow
                        (br_if $findRowsDone (i32.ge_u (local.get $ih) (local.get $h1)))
                        (local.set $iw (i32.mul (local.get $ow) (local.get $fw)))
                        (block $findColsDone
                          (loop $findCol
                            (br_if $findColsDone (i32.ge_u (local.get $iw) (local.get $w1)))
                            (local.set $off (i32.add (i32.mul (i32.add (i32.mul (i32.add (local.get $image) (local.get $ih)) (local.get $inWidth)) (local.get $iw)) (local.get $pixel)) (local.get $c)))
                            (local.set $v (v128.load align=1 (i32.add (local.get $x) (local.get $off))))
                            (local.set $mask (f32x4.gt (local.get $v) (local.get $best)))
                            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $mask)))
                            (local.set $arg (v128.bitselect (i32x4.splat (local.get $off)) (local.get $arg) (local.get $mask)))
                            (local.set $iw (i32.add (local.get $iw) (i32.const 1)))
                            (br $findCol)))
                        (local.set $ih (i32.add (local.get $ih) (i32.const 1)))
                        (br $findRow)))
                    ;; -0 + 0 is +0, as the sum from 0 of the kernel in JavaScript gives
                    (local.set $g (f32x4.add (v128.load align=1 (i32.add (local.get $dy) (i32.add (local.get $o) (local.get $c)))) (f32x4.splat (f32.const 0))))
                    (local.set $ih (i32.mul (local.get $oh) (local.get $fh)))
                    (block $writeRowsDone
                      (loop $writeRow
                        (br_if $writeRowsDone (i32.ge_u (local.get $ih) (local.get $h1)))
                        (local.set $iw (i32.mul (local.get $ow) (local.get $fw)))
                        (block $writeColsDone
                          (loop $writeCol
                            (br_if $writeColsDone (i32.ge_u (local.get $iw) (local.get $w1)))
                            (local.set $off (i32.add (i32.mul (i32.add (i32.mul (i32.add (local.get $image) (local.get $ih)) (local.get $inWidth)) (local.get $iw)) (local.get $pixel)) (local.get $c)))
                            (v128.store align=1 (i32.add (local.get $dx) (local.get $off))
                              (v128.and (local.get $g) (i32x4.eq (local.get $arg) (i32x4.splat (local.get $off)))))
                            (local.set $iw (i32.add (local.get $iw) (i32.const 1)))
                            (br $writeCol)))
                        (local.set $ih (i32.add (local.get $ih) (i32.const 1)))
                        (br $writeRow)))
                    (local.set $c (i32.add (local.get $c) (i32.const 16)))
                    (br $groupLoop)))
                ;; the channels past the last four, one at a time
                (block $onesDone
                  (loop $oneLoop
                    (br_if $onesDone (i32.ge_u (local.get $c) (local.get $pixel)))
                    (local.set $bestOne (f32.const -inf))
                    (local.set $argOne (i32.const -1))
                    (local.set $ih (i32.mul (local.get $oh) (local.get $fh)))
                    (block $findRowsDone1
                      (loop $findRow1
                        (br_if $findRowsDone1 (i32.ge_u (local.get $ih) (local.get $h1)))
                        (local.set $iw (i32.mul (local.get $ow) (local.get $fw)))
                        (block $findColsDone1
                          (loop $findCol1
                            (br_if $findColsDone1 (i32.ge_u (local.get $iw) (local.get $w1)))
                            (local.set $off (i32.add (i32.mul (i32.add (i32.mul (i32.add (local.get $image) (local.get $ih)) (local.get $inWidth)) (local.get $iw)) (local.get $pixel)) (local.get $c)))
                            (local.set $vOne (f32.load align=1 (i32.add (local.get $x) (local.get $off))))
                            (local.set $argOne (select (local.get $off) (local.get $argOne) (f32.gt (local.get $vOne) (local.get $bestOne))))
                            (local.set $bestOne (select (local.get $vOne) (local.get $bestOne) (f32.gt (local.get $vOne) (local.get $bestOne))))
                            (local.set $iw (i32.add (local.get $iw) (i32.const 1)))
                            (br $findCol1)))
                        (local.set $ih (i32.add (local.get $ih) (i32.const 1)))
                        (br $findRow1)))
                    (if (i32.ge_s (local.get $argOne) (i32.const 0))
                      (then
                        (f32.store align=1 (i32.add (local.get $dx) (local.get $argOne))
                          (f32.add (f32.load align=1 (i32.add (local.get $dy) (i32.add (local.get $o) (local.get $c)))) (f32.const 0)))))
                    (local.set $c (i32.add (local.get $c) (i32.const 4)))
                    (br $oneLoop)))
                (local.set $o (i32.add (local.get $o) (local.get $pixel)))
                (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                (br $colLoop)))
            (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
            (br $rowLoop)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $batchLoop))))

  ;; reluGrad(dy, x, dst, count): dst = dy * step(x) for float32 [count], step(x) = 1 where x > 0,
  ;; x itself where x is NaN, else 0, as the stock Step and Multiply give it in two passes.
  (func (export "reluGrad") (param $dy i32) (param $x i32) (param $dst i32) (param $count i32)
    (local $i i32) (local $bytes i32) (local $wide i32) (local $v v128) (local $one f32)
    (local.set $bytes (i32.shl (local.get $count) (i32.const 2)))
    (local.set $wide (i32.and (local.get $bytes) (i32.const -16)))
    (block $end16
      (loop $by16
        (br_if $end16 (i32.ge_u (local.get $i) (local.get $wide)))
        (local.set $v (v128.load align=1 (i32.add (local.get $x) (local.get $i))))
        (v128.store align=1 (i32.add (local.get $dst) (local.get $i))
          (f32x4.mul (v128.load align=1 (i32.add (local.get $dy) (local.get $i)))
            (v128.bitselect (local.get $v)
              (v128.and (f32x4.gt (local.get $v) (f32x4.splat (f32.const 0))) (f32x4.splat (f32.const 1)))
              (f32x4.ne (local.get $v) (local.get $v)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $by16)))
    (block $end4
      (loop $by4
        (br_if $end4 (i32.ge_u (local.get $i) (local.get $bytes)))
        (local.set $one (f32.load align=1 (i32.add (local.get $x) (local.get $i))))
        (f32.store align=1 (i32.add (local.get $dst) (local.get $i))
          (f32.mul (f32.load align=1 (i32.add (local.get $dy) (local.get $i)))
            (select (local.get $one)
              (select (f32.const 1) (f32.const 0) (f32.gt (local.get $one) (f32.const 0)))
              (f32.ne (local.get $one) (local.get $one)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $by4))))

  ;; channelOp(x, g, dst, outer, pixels, channels, gStride, add): dst[b, p, c] = x[b, p, c] * g[b *
  ;; gStride + c], or x + g where add, for float32 x [outer, pixels, channels] and g holding a row of
  ;; channels per b (gStride values apart: 0 for one row for all): a Multiply or Add whose second
  ;; operand is broadcast over the pixels (channel attention's gate), one float32 operation per value,
  ;; four channels per SIMD operation, then one at a time.
  (func (export "channelOp") (param $x i32) (param $g i32) (param $dst i32) (param $outer i32) (param $pixels i32) (param $channels i32)
    (param $gStride i32) (param $add i32)
    (local $pixel i32) (local $wide i32) (local $p i32) (local $c i32) (local $v v128) (local $w v128) (local $one f32) (local $other f32)
    (local.set $pixel (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $wide (i32.and (local.get $pixel) (i32.const -16)))
    (block $outerDone
      (loop $image
        (br_if $outerDone (i32.eqz (local.get $outer)))
        (local.set $p (local.get $pixels))
        (block $pixelsDone
          (loop $pixelLoop
            (br_if $pixelsDone (i32.eqz (local.get $p)))
            (local.set $c (i32.const 0))
            (block $groupsDone
              (loop $group
                (br_if $groupsDone (i32.ge_u (local.get $c) (local.get $wide)))
                (local.set $v (v128.load align=1 (i32.add (local.get $x) (local.get $c))))
                (local.set $w (v128.load align=1 (i32.add (local.get $g) (local.get $c))))
                (v128.store align=1 (i32.add (local.get $dst) (local.get $c))
                  (select (f32x4.add (local.get $v) (local.get $w)) (f32x4.mul (local.get $v) (local.get $w)) (local.get $add)))
                (local.set $c (i32.add (local.get $c) (i32.const 16)))
                (br $group)))
            (block $onesDone
              (loop $oneChannel
                (br_if $onesDone (i32.ge_u (local.get $c) (local.get $pixel)))
                (local.set $one (f32.load align=1 (i32.add (local.get $x) (local.get $c))))
                (local.set $other (f32.load align=1 (i32.add (local.get $g) (local.get $c))))
                (f32.store align=1 (i32.add (local.get $dst) (local.get $c))
                  (select (f32.add (local.get $one) (local.get $other)) (f32.mul (local.get $one) (local.get $other)) (local.get $add)))
                (local.set $c (i32.add (local.get $c) (i32.const 4)))
                (br $oneChannel)))
            (local.set $x (i32.add (local.get $x) (local.get $pixel)))
            (local.set $dst (i32.add (local.get $dst) (local.get $pixel)))
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (br $pixelLoop)))
        (local.set $g (i32.add (local.get $g) (i32.shl (local.get $gStride) (i32.const 2))))
        (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
        (br $image))))
)
