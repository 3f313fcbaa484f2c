;; The source of CONV_GRAD_MODULE in conv-grad-module.ts (a test assembles it with wabt and
;; compares the bytes): the convolution kernels of the heap module (src/wasm/heap-module.ts), the
;; depthwise convolution and the convolution gradients, a module of their own so that each stays below the 4 KB browsers compile synchronously. It
;; imports the memory of tfjs-backend-wasm's module, the heap that holds every tensor. Addresses and
;; strides are in bytes.
(module
  (import "tfjs" "memory" (memory 0))

  ;; depthwiseFilterGrad(x, dy, dst, batch, inHeight, inWidth, channels, outHeight, outWidth, fh, fw,
  ;; top, left, dilationHeight, dilationWidth): the filter gradient of a stride-1 depthwise
  ;; convolution (multiplier 1) of float32 x [batch, inHeight, inWidth, channels] with dy [batch,
  ;; outHeight, outWidth, channels]: dst[p, q, c] = the sum over n, i, j of x[n, i + p dh - top,
  ;; j + q dw - left, c] dy[n, i, j, c], positions outside x skipped. Each tap's products along one
  ;; row of dy are added in float32 (four channels per SIMD lane group, the sum in a register), and
  ;; each such row sum into dst, row after row.
  (func (export "depthwiseFilterGrad") (param $x i32) (param $dy i32) (param $dst i32) (param $batch i32) (param $inHeight i32) (param $inWidth i32)
    (param $channels i32) (param $outHeight i32) (param $outWidth i32) (param $fh i32) (param $fw i32) (param $top i32) (param $left i32) (param $dh i32) (param $dw i32)
    (local $pixel i32) (local $wide i32) (local $n i32) (local $i i32) (local $p i32) (local $q i32) (local $c i32) (local $j i32) (local $j1 i32)
    (local $xRow i32) (local $dyRow i32) (local $shift i32) (local $tap i32) (local $ii i32) (local $end i32) (local $k i32)
    (local $acc v128) (local $one f32)
    (local.set $pixel (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $wide (i32.and (local.get $pixel) (i32.const -16)))
    (memory.fill (local.get $dst) (i32.const 0) (i32.mul (i32.mul (local.get $fh) (local.get $fw)) (local.get $pixel)))
    (local.set $n (i32.const 0))
    (block $imagesDone
      (loop $image
        (br_if $imagesDone (i32.ge_u (local.get $n) (local.get $batch)))
        (local.set $i (i32.const 0))
        (block $rowsDone
          (loop $row
            (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $outHeight)))
            (local.set $dyRow (i32.add (local.get $dy) (i32.mul (i32.mul (i32.add (i32.mul (local.get $n) (local.get $outHeight)) (local.get $i)) (local.get $outWidth)) (local.get $pixel))))
            (local.set $p (i32.const 0))
            (block $tapRowsDone
              (loop $tapRow
                (br_if $tapRowsDone (i32.ge_u (local.get $p) (local.get $fh)))
                ;; the row of x this tap row reads (signed: it may lie above the image)
                (local.set $ii (i32.sub (i32.add (local.get $i) (i32.mul (local.get $p) (local.get $dh))) (local.get $top)))
                (if (i32.and (i32.ge_s (local.get $ii) (i32.const 0)) (i32.lt_s (local.get $ii) (local.get $inHeight)))
                  (then
                    (local.set $xRow (i32.add (local.get $x) (i32.mul (i32.mul (i32.add (i32.mul (local.get $n) (local.get $inHeight)) (local.get $ii)) (local.get $inWidth)) (local.get $pixel))))
                    (local.set $q (i32.const 0))
                    (block $tapColsDone
                      (loop $tapCol
                        (br_if $tapColsDone (i32.ge_u (local.get $q) (local.get $fw)))
                        ;; output columns j whose input column j + shift lies in the image
                        (local.set $shift (i32.sub (i32.mul (local.get $q) (local.get $dw)) (local.get $left)))
                        (local.set $j (select (i32.sub (i32.const 0) (local.get $shift)) (i32.const 0) (i32.lt_s (local.get $shift) (i32.const 0))))
                        (local.set $end (i32.sub (local.get $inWidth) (local.get $shift)))
                        (local.set $j1 (select (local.get $outWidth) (local.get $end) (i32.lt_s (local.get $outWidth) (local.get $end))))
                        (local.set $tap (i32.add (local.get $dst) (i32.mul (i32.add (i32.mul (local.get $p) (local.get $fw)) (local.get $q)) (local.get $pixel))))
                        (if (i32.lt_s (local.get $j) (local.get $j1))
                          (then
                            ;; four channels at a time
                            (local.set $c (i32.const 0))
                            (block $groupsDone
                              (loop $group
                                (br_if $groupsDone (i32.ge_u (local.get $c) (local.get $wide)))
                                (local.set $acc (f32x4.splat (f32.const 0)))
                                (local.set $k (local.get $j))
                                (block $colsDone
                                  (loop $col
                                    (br_if $colsDone (i32.ge_s (local.get $k) (local.get $j1)))
                                    (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
                                      (v128.load align=1 (i32.add (local.get $xRow) (i32.add (i32.mul (i32.add (local.get $k) (local.get $shift)) (local.get $pixel)) (local.get $c))))
                                      (v128.load align=1 (i32.add (local.get $dyRow) (i32.add (i32.mul (local.get $k) (local.get $pixel)) (local.get $c)))))))
                                    (local.set $k (i32.add (local.get $k) (i32.const 1)))
                                    (br $col)))
                                (v128.store align=1 (i32.add (local.get $tap) (local.get $c))
                                  (f32x4.add (v128.load align=1 (i32.add (local.get $tap) (local.get $c))) (local.get $acc)))
                                (local.set $c (i32.add (local.get $c) (i32.const 16)))
                                (br $group)))
                            ;; the channels past the last four
                            (block $onesDone
                              (loop $oneChannel
                                (br_if $onesDone (i32.ge_u (local.get $c) (local.get $pixel)))
                                (local.set $one (f32.const 0))
                                (local.set $k (local.get $j))
                                (block $oneColsDone
                                  (loop $oneCol
                                    (br_if $oneColsDone (i32.ge_s (local.get $k) (local.get $j1)))
                                    (local.set $one (f32.add (local.get $one) (f32.mul
                                      (f32.load align=1 (i32.add (local.get $xRow) (i32.add (i32.mul (i32.add (local.get $k) (local.get $shift)) (local.get $pixel)) (local.get $c))))
                                      (f32.load align=1 (i32.add (local.get $dyRow) (i32.add (i32.mul (local.get $k) (local.get $pixel)) (local.get $c)))))))
                                    (local.set $k (i32.add (local.get $k) (i32.const 1)))
                                    (br $oneCol)))
                                (f32.store align=1 (i32.add (local.get $tap) (local.get $c))
                                  (f32.add (f32.load align=1 (i32.add (local.get $tap) (local.get $c))) (local.get $one)))
                                (local.set $c (i32.add (local.get $c) (i32.const 4)))
                                (br $oneChannel)))))
                        (local.set $q (i32.add (local.get $q) (i32.const 1)))
                        (br $tapCol)))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $tapRow)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $row)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $image))))

  ;; pointwiseFilterGrad(x, dy, dst, rows, inChannels, outChannels), outChannels a multiple of 4:
  ;; the filter gradient of a 1x1 convolution, dst[c, o] = the float32 sum over r, in order from
  ;; +0, of x[r, c] dy[r, o] for float32 x [rows, inChannels] and dy [rows, outChannels] (what the
  ;; wasm backend's BatchMatMul of x transposed and dy gives, without the transpose and packing).
  ;; Four input channels by eight outputs (two SIMD lane groups) at a time, each sum in a register
  ;; lane of its own (the last channels repeat the last channel, and the last lane group the one
  ;; before, computing and storing the same sums); the rows in blocks of 64, each block's sums
  ;; carried over in dst, so that a block of x is read from the cache once per tile.
  (func (export "pointwiseFilterGrad") (param $x i32) (param $dy i32) (param $dst i32) (param $rows i32) (param $cin i32) (param $cout i32)
    (local $xPixel i32) (local $dyPixel i32) (local $r0 i32) (local $r1 i32) (local $c i32) (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $last i32) (local $lastGroup i32) (local $o i32) (local $o1 i32) (local $xr i32) (local $dyr i32) (local $end i32)
    (local $at i32) (local $at1 i32) (local $s v128) (local $d v128) (local $e v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local.set $xPixel (i32.shl (local.get $cin) (i32.const 2)))
    (local.set $dyPixel (i32.shl (local.get $cout) (i32.const 2)))
    (local.set $last (i32.sub (local.get $xPixel) (i32.const 4)))
    (local.set $lastGroup (i32.sub (local.get $dyPixel) (i32.const 16)))
    (memory.fill (local.get $dst) (i32.const 0) (i32.mul (local.get $cin) (local.get $dyPixel)))
    (block $blocksDone
      (loop $rowBlock
        (br_if $blocksDone (i32.ge_u (local.get $r0) (local.get $rows)))
        (local.set $r1 (select (local.get $rows) (i32.add (local.get $r0) (i32.const 64)) (i32.lt_u (i32.sub (local.get $rows) (local.get $r0)) (i32.const 64))))
        (local.set $c (i32.const 0))
        (block $channelsDone
          (loop $channels
            (br_if $channelsDone (i32.ge_u (local.get $c) (local.get $xPixel)))
            (local.set $c1 (select (local.get $last) (i32.add (local.get $c) (i32.const 4)) (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $last))))
            (local.set $c2 (select (local.get $last) (i32.add (local.get $c) (i32.const 8)) (i32.gt_u (i32.add (local.get $c) (i32.const 8)) (local.get $last))))
            (local.set $c3 (select (local.get $last) (i32.add (local.get $c) (i32.const 12)) (i32.gt_u (i32.add (local.get $c) (i32.const 12)) (local.get $last))))
            (local.set $o (i32.const 0))
            (block $outsDone
              (loop $outs
                (br_if $outsDone (i32.ge_u (local.get $o) (local.get $dyPixel)))
                (local.set $o1 (select (local.get $lastGroup) (i32.add (local.get $o) (i32.const 16)) (i32.gt_u (i32.add (local.get $o) (i32.const 16)) (local.get $lastGroup))))
                ;; dst row c is at dst + c / 4 * dyPixel = dst + c * cout
                (local.set $at (i32.add (local.get $dst) (local.get $o)))
                (local.set $at1 (i32.add (local.get $dst) (local.get $o1)))
                (local.set $a0 (v128.load align=1 (i32.add (local.get $at) (i32.mul (local.get $c) (local.get $cout)))))
                (local.set $a1 (v128.load align=1 (i32.add (local.get $at) (i32.mul (local.get $c1) (local.get $cout)))))
                (local.set $a2 (v128.load align=1 (i32.add (local.get $at) (i32.mul (local.get $c2) (local.get $cout)))))
                (local.set $a3 (v128.load align=1 (i32.add (local.get $at) (i32.mul (local.get $c3) (local.get $cout)))))
                (local.set $b0 (v128.load align=1 (i32.add (local.get $at1) (i32.mul (local.get $c) (local.get $cout)))))
                (local.set $b1 (v128.load align=1 (i32.add (local.get $at1) (i32.mul (local.get $c1) (local.get $cout)))))
                (local.set $b2 (v128.load align=1 (i32.add (local.get $at1) (i32.mul (local.get $c2) (local.get $cout)))))
                (local.set $b3 (v128.load align=1 (i32.add (local.get $at1) (i32.mul (local.get $c3) (local.get $cout)))))
                (local.set $xr (i32.add (local.get $x) (i32.mul (local.get $r0) (local.get $xPixel))))
                (local.set $dyr (i32.add (local.get $dy) (i32.mul (local.get $r0) (local.get $dyPixel))))
                (local.set $end (i32.add (local.get $dy) (i32.mul (local.get $r1) (local.get $dyPixel))))
                (block $rowsDone
                  (loop $row
                    (br_if $rowsDone (i32.ge_u (local.get $dyr) (local.get $end)))
                    (local.set $d (v128.load align=1 (i32.add (local.get $dyr) (local.get $o))))
                    (local.set $e (v128.load align=1 (i32.add (local.get $dyr) (local.get $o1))))
                    (local.set $s (f32x4.splat (f32.load align=1 (i32.add (local.get $xr) (local.get $c)))))
                    (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $d))))
                    (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $s) (local.get $e))))
                    (local.set $s (f32x4.splat (f32.load align=1 (i32.add (local.get $xr) (local.get $c1)))))
                    (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $d))))
                    (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $s) (local.get $e))))
                    (local.set $s (f32x4.splat (f32.load align=1 (i32.add (local.get $xr) (local.get $c2)))))
                    (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $d))))
                    (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $s) (local.get $e))))
                    (local.set $s (f32x4.splat (f32.load align=1 (i32.add (local.get $xr) (local.get $c3)))))
                    (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $d))))
                    (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $s) (local.get $e))))
                    (local.set $xr (i32.add (local.get $xr) (local.get $xPixel)))
                    (local.set $dyr (i32.add (local.get $dyr) (local.get $dyPixel)))
                    (br $row)))
                ;; b before a: where o1 is o (four outputs), a's sums are the same and stored last
                (v128.store align=1 (i32.add (local.get $at1) (i32.mul (local.get $c) (local.get $cout))) (local.get $b0))
                (v128.store align=1 (i32.add (local.get $at1) (i32.mul (local.get $c1) (local.get $cout))) (local.get $b1))
                (v128.store align=1 (i32.add (local.get $at1) (i32.mul (local.get $c2) (local.get $cout))) (local.get $b2))
                (v128.store align=1 (i32.add (local.get $at1) (i32.mul (local.get $c3) (local.get $cout))) (local.get $b3))
                (v128.store align=1 (i32.add (local.get $at) (i32.mul (local.get $c) (local.get $cout))) (local.get $a0))
                (v128.store align=1 (i32.add (local.get $at) (i32.mul (local.get $c1) (local.get $cout))) (local.get $a1))
                (v128.store align=1 (i32.add (local.get $at) (i32.mul (local.get $c2) (local.get $cout))) (local.get $a2))
                (v128.store align=1 (i32.add (local.get $at) (i32.mul (local.get $c3) (local.get $cout))) (local.get $a3))
                (local.set $o (i32.add (local.get $o) (i32.const 32)))
                (br $outs)))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))
            (br $channels)))
        (local.set $r0 (local.get $r1))
        (br $rowBlock))))

  ;; depthwiseConv(x, w, y, batch, outHeight, outWidth, channels, inHeight, inWidth, fh, fw, top,
  ;; left, rotated): a stride-1, undilated depthwise convolution (multiplier 1) of x [batch,
  ;; inHeight, inWidth, channels] by w [fh, fw, channels] (rotated by 180 degrees where rotated),
  ;; padded by top and left: y[n, i, j, c] = the float32 sum, from +0, of x[n, i + p - top, j + q -
  ;; left, c] w[p, q, c] over the taps inside x, q from 0 to fw - 1 and, within each, p from 0 to fh
  ;; - 1 (the order in which XNNPACK's 3x3 and 5x5 depthwise convolutions add their taps). With the
  ;; rotated filter and padding fh - 1 - top, fw - 1 - left it is the input gradient dx of a
  ;; convolution of padding top and left, x being its dy. Each row of y, in chunks of about 4 KB, is
  ;; zeroed, then each tap in that order adds its products along the chunk, four channels per SIMD
  ;; lane group with the tap's weights held in a register, then one at a time.
  (func (export "depthwiseConv") (param $x i32) (param $w i32) (param $y i32) (param $batch i32) (param $height i32) (param $width i32)
    (param $channels i32) (param $inHeight i32) (param $inWidth i32) (param $fh i32) (param $fw i32) (param $top i32) (param $left i32)
    (param $rotated i32)
    (local $pixel i32) (local $wide i32) (local $n i32) (local $i i32) (local $p i32) (local $q i32) (local $c i32) (local $ii i32)
    (local $shift i32) (local $j0 i32) (local $j1 i32) (local $outRow i32) (local $out i32) (local $from i32) (local $tap i32) (local $end i32)
    (local $at i32) (local $read i32) (local $weights v128) (local $weight f32) (local $chunk i32) (local $c0 i32) (local $c1 i32)
    (local.set $pixel (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $wide (i32.and (local.get $pixel) (i32.const -16)))
    ;; the row in chunks of about 4 KB of y (at least one pixel), which stay in the cache over the taps
    (local.set $chunk (i32.div_u (i32.const 4096) (local.get $pixel)))
    (local.set $chunk (select (local.get $chunk) (i32.const 1) (local.get $chunk)))
    (local.set $outRow (local.get $y))
    (block $imagesDone
      (loop $image
        (br_if $imagesDone (i32.ge_u (local.get $n) (local.get $batch)))
        (local.set $i (i32.const 0))
        (block $rowsDone
          (loop $row
            (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $height)))
            (local.set $c0 (i32.const 0))
            (block $chunksDone
              (loop $chunkLoop
            (br_if $chunksDone (i32.ge_u (local.get $c0) (local.get $width)))
            (local.set $c1 (select (local.get $width) (i32.add (local.get $c0) (local.get $chunk)) (i32.lt_u (i32.sub (local.get $width) (local.get $c0)) (local.get $chunk))))
            (memory.fill (i32.add (local.get $outRow) (i32.mul (local.get $c0) (local.get $pixel))) (i32.const 0) (i32.mul (i32.sub (local.get $c1) (local.get $c0)) (local.get $pixel)))
            (local.set $q (i32.const 0))
            (block $tapColsDone
              (loop $tapCol
                (br_if $tapColsDone (i32.ge_u (local.get $q) (local.get $fw)))
                ;; pixel j reads x's column j + shift: j from max(0, -shift) to min(width, inWidth - shift)
                (local.set $shift (i32.sub (local.get $q) (local.get $left)))
                (local.set $j0 (select (i32.sub (i32.const 0) (local.get $shift)) (i32.const 0) (i32.lt_s (local.get $shift) (i32.const 0))))
                (local.set $j0 (select (local.get $c0) (local.get $j0) (i32.lt_s (local.get $j0) (local.get $c0))))
                (local.set $j1 (i32.sub (local.get $inWidth) (local.get $shift)))
                (local.set $j1 (select (local.get $c1) (local.get $j1) (i32.lt_s (local.get $c1) (local.get $j1))))
                (local.set $p (i32.const 0))
                (block $tapRowsDone
                  (loop $tapRow
                    (br_if $tapRowsDone (i32.or (i32.ge_u (local.get $p) (local.get $fh)) (i32.ge_s (local.get $j0) (local.get $j1))))
                    ;; the row of x this tap row reads (signed; an unsigned compare finds both edges)
                    (local.set $ii (i32.sub (i32.add (local.get $i) (local.get $p)) (local.get $top)))
                    (if (i32.lt_u (local.get $ii) (local.get $inHeight))
                      (then
                        (local.set $tap (i32.add (i32.mul (local.get $p) (local.get $fw)) (local.get $q)))
                        (local.set $tap (i32.add (local.get $w) (i32.mul (local.get $pixel)
                          (select (i32.sub (i32.sub (i32.mul (local.get $fh) (local.get $fw)) (i32.const 1)) (local.get $tap)) (local.get $tap) (local.get $rotated)))))
                        (local.set $out (i32.add (local.get $outRow) (i32.mul (local.get $j0) (local.get $pixel))))
                        (local.set $from (i32.add (local.get $x) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $inHeight)) (local.get $ii))
                          (local.get $inWidth)) (i32.add (local.get $j0) (local.get $shift))) (local.get $pixel))))
                        (local.set $end (i32.add (local.get $outRow) (i32.mul (local.get $j1) (local.get $pixel))))
                        ;; per lane group (then per channel left over), the tap's weights held and the row walked
                        (local.set $c (i32.const 0))
                        (block $groupsDone
                          (loop $group
                            (br_if $groupsDone (i32.ge_u (local.get $c) (local.get $wide)))
                            (local.set $weights (v128.load align=1 (i32.add (local.get $tap) (local.get $c))))
                            (local.set $at (i32.add (local.get $out) (local.get $c)))
                            (local.set $read (i32.add (local.get $from) (local.get $c)))
                            (block $pixelsDone
                              (loop $pixelLoop
                                (br_if $pixelsDone (i32.ge_u (local.get $at) (local.get $end)))
                                (v128.store align=1 (local.get $at)
                                  (f32x4.add (v128.load align=1 (local.get $at)) (f32x4.mul (v128.load align=1 (local.get $read)) (local.get $weights))))
                                (local.set $at (i32.add (local.get $at) (local.get $pixel)))
                                (local.set $read (i32.add (local.get $read) (local.get $pixel)))
                                (br $pixelLoop)))
                            (local.set $c (i32.add (local.get $c) (i32.const 16)))
                            (br $group)))
                        (block $onesDone
                          (loop $one
                            (br_if $onesDone (i32.ge_u (local.get $c) (local.get $pixel)))
                            (local.set $weight (f32.load align=1 (i32.add (local.get $tap) (local.get $c))))
                            (local.set $at (i32.add (local.get $out) (local.get $c)))
                            (local.set $read (i32.add (local.get $from) (local.get $c)))
                            (block $onePixelsDone
                              (loop $onePixel
                                (br_if $onePixelsDone (i32.ge_u (local.get $at) (local.get $end)))
                                (f32.store align=1 (local.get $at)
                                  (f32.add (f32.load align=1 (local.get $at)) (f32.mul (f32.load align=1 (local.get $read)) (local.get $weight))))
                                (local.set $at (i32.add (local.get $at) (local.get $pixel)))
                                (local.set $read (i32.add (local.get $read) (local.get $pixel)))
                                (br $onePixel)))
                            (local.set $c (i32.add (local.get $c) (i32.const 4)))
                            (br $one)))))
                    (local.set $p (i32.add (local.get $p) (i32.const 1)))
                    (br $tapRow)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $tapCol)))
            (local.set $c0 (local.get $c1))
            (br $chunkLoop)))
            (local.set $outRow (i32.add (local.get $outRow) (i32.mul (local.get $width) (local.get $pixel))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $row)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $image))))
)
