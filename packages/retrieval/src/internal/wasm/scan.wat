;; SIMD scan kernels of RecSpine's IVF index (WebAssembly SIMD128). Source of scanWasm.ts, which
;; `npm run build:wasm -w @recspine/retrieval` regenerates with wabt (a test checks the two agree).
;; Why hand-written: see scanKernel.ts.
;;
;; The f32 kernels ($dots, dotsAt, argmax) score rows as stored; dotsI8 scans the int8 copy kept
;; with `quantization: 'i8'` (its layout is described there).
;;
;; An f32 row is `bytes` long: its dims padded with zeros to a multiple of 16 floats (64 bytes),
;; so the inner loop is four f32x4 multiply-adds per step with no tail. Rows and queries are
;; 16-byte aligned (an int8 scan may start its scales at any row: its f32x4 load is unaligned).
(module
  (memory (export "memory") 1 65536)

  ;; out[r] = dot(row r of mat, q) for r < rows. Two rows per pass: each q chunk is loaded once for
  ;; both, and the two independent accumulator chains hide the add latency (≈ 2× one row per pass).
  (func $dots (export "dots") (param $mat i32) (param $rows i32) (param $bytes i32) (param $q i32) (param $out i32)
    (local $end i32) (local $b i32) (local $qend i32) (local $a i32) (local $a2 i32)
    (local $x0 v128) (local $x1 v128) (local $y0 v128) (local $y1 v128) (local $qv v128) (local $qv2 v128)
    (local.set $qend (i32.add (local.get $q) (local.get $bytes)))
    (local.set $end (i32.add (local.get $out) (i32.shl (i32.and (local.get $rows) (i32.const -2)) (i32.const 2))))
    (if (i32.ge_u (local.get $rows) (i32.const 2))
      (then
        (loop $lr
          (local.set $x0 (v128.const i32x4 0 0 0 0))
          (local.set $x1 (v128.const i32x4 0 0 0 0))
          (local.set $y0 (v128.const i32x4 0 0 0 0))
          (local.set $y1 (v128.const i32x4 0 0 0 0))
          (local.set $a (local.get $mat))
          (local.set $a2 (i32.add (local.get $mat) (local.get $bytes)))
          (local.set $b (local.get $q))
          (loop $l
            (local.set $qv (v128.load (local.get $b)))
            (local.set $qv2 (v128.load offset=16 (local.get $b)))
            (local.set $x0 (f32x4.add (local.get $x0) (f32x4.mul (v128.load (local.get $a)) (local.get $qv))))
            (local.set $x1 (f32x4.add (local.get $x1) (f32x4.mul (v128.load offset=16 (local.get $a)) (local.get $qv2))))
            (local.set $y0 (f32x4.add (local.get $y0) (f32x4.mul (v128.load (local.get $a2)) (local.get $qv))))
            (local.set $y1 (f32x4.add (local.get $y1) (f32x4.mul (v128.load offset=16 (local.get $a2)) (local.get $qv2))))
            (local.set $qv (v128.load offset=32 (local.get $b)))
            (local.set $qv2 (v128.load offset=48 (local.get $b)))
            (local.set $x0 (f32x4.add (local.get $x0) (f32x4.mul (v128.load offset=32 (local.get $a)) (local.get $qv))))
            (local.set $x1 (f32x4.add (local.get $x1) (f32x4.mul (v128.load offset=48 (local.get $a)) (local.get $qv2))))
            (local.set $y0 (f32x4.add (local.get $y0) (f32x4.mul (v128.load offset=32 (local.get $a2)) (local.get $qv))))
            (local.set $y1 (f32x4.add (local.get $y1) (f32x4.mul (v128.load offset=48 (local.get $a2)) (local.get $qv2))))
            (local.set $a (i32.add (local.get $a) (i32.const 64)))
            (local.set $a2 (i32.add (local.get $a2) (i32.const 64)))
            (local.set $b (i32.add (local.get $b) (i32.const 64)))
            (br_if $l (i32.lt_u (local.get $b) (local.get $qend))))
          (local.set $x0 (f32x4.add (local.get $x0) (local.get $x1)))
          (local.set $y0 (f32x4.add (local.get $y0) (local.get $y1)))
          (f32.store (local.get $out) (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $x0)) (f32x4.extract_lane 1 (local.get $x0)))
            (f32.add (f32x4.extract_lane 2 (local.get $x0)) (f32x4.extract_lane 3 (local.get $x0)))))
          (f32.store offset=4 (local.get $out) (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $y0)) (f32x4.extract_lane 1 (local.get $y0)))
            (f32.add (f32x4.extract_lane 2 (local.get $y0)) (f32x4.extract_lane 3 (local.get $y0)))))
          (local.set $mat (i32.add (local.get $mat) (i32.shl (local.get $bytes) (i32.const 1))))
          (local.set $out (i32.add (local.get $out) (i32.const 8)))
          (br_if $lr (i32.lt_u (local.get $out) (local.get $end))))))
    ;; the odd last row
    (if (i32.and (local.get $rows) (i32.const 1))
      (then
        (local.set $x0 (v128.const i32x4 0 0 0 0))
        (local.set $a (local.get $mat))
        (local.set $b (local.get $q))
        (loop $l1
          (local.set $x0 (f32x4.add (local.get $x0) (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b)))))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $b (i32.add (local.get $b) (i32.const 16)))
          (br_if $l1 (i32.lt_u (local.get $b) (local.get $qend))))
        (f32.store (local.get $out) (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $x0)) (f32x4.extract_lane 1 (local.get $x0)))
          (f32.add (f32x4.extract_lane 2 (local.get $x0)) (f32x4.extract_lane 3 (local.get $x0))))))))

  ;; out[i] = dot(row idx[i] of mat, q) for i < n, idx holding i32 row numbers: the f32 rows of
  ;; gathered candidates (the exact rescoring of an i8 scan). Two rows per pass with the same
  ;; accumulation order as the paired rows of $dots, so a row's score is the same bits as there;
  ;; an odd last row is paired with itself and stored once.
  (func (export "dotsAt") (param $mat i32) (param $idx i32) (param $n i32) (param $bytes i32) (param $q i32) (param $out i32)
    (local $i i32) (local $b i32) (local $qend i32) (local $a i32) (local $a2 i32)
    (local $x0 v128) (local $x1 v128) (local $y0 v128) (local $y1 v128) (local $qv v128) (local $qv2 v128)
    (if (i32.eqz (local.get $n)) (then (return)))
    (local.set $qend (i32.add (local.get $q) (local.get $bytes)))
    (loop $lr
      (local.set $x0 (v128.const i32x4 0 0 0 0))
      (local.set $x1 (v128.const i32x4 0 0 0 0))
      (local.set $y0 (v128.const i32x4 0 0 0 0))
      (local.set $y1 (v128.const i32x4 0 0 0 0))
      (local.set $a (i32.add (local.get $mat) (i32.mul (i32.load (local.get $idx)) (local.get $bytes))))
      (local.set $a2 (local.get $a))
      (if (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $n))
        (then (local.set $a2 (i32.add (local.get $mat) (i32.mul (i32.load offset=4 (local.get $idx)) (local.get $bytes))))))
      (local.set $b (local.get $q))
      (loop $l
        (local.set $qv (v128.load (local.get $b)))
        (local.set $qv2 (v128.load offset=16 (local.get $b)))
        (local.set $x0 (f32x4.add (local.get $x0) (f32x4.mul (v128.load (local.get $a)) (local.get $qv))))
        (local.set $x1 (f32x4.add (local.get $x1) (f32x4.mul (v128.load offset=16 (local.get $a)) (local.get $qv2))))
        (local.set $y0 (f32x4.add (local.get $y0) (f32x4.mul (v128.load (local.get $a2)) (local.get $qv))))
        (local.set $y1 (f32x4.add (local.get $y1) (f32x4.mul (v128.load offset=16 (local.get $a2)) (local.get $qv2))))
        (local.set $qv (v128.load offset=32 (local.get $b)))
        (local.set $qv2 (v128.load offset=48 (local.get $b)))
        (local.set $x0 (f32x4.add (local.get $x0) (f32x4.mul (v128.load offset=32 (local.get $a)) (local.get $qv))))
        (local.set $x1 (f32x4.add (local.get $x1) (f32x4.mul (v128.load offset=48 (local.get $a)) (local.get $qv2))))
        (local.set $y0 (f32x4.add (local.get $y0) (f32x4.mul (v128.load offset=32 (local.get $a2)) (local.get $qv))))
        (local.set $y1 (f32x4.add (local.get $y1) (f32x4.mul (v128.load offset=48 (local.get $a2)) (local.get $qv2))))
        (local.set $a (i32.add (local.get $a) (i32.const 64)))
        (local.set $a2 (i32.add (local.get $a2) (i32.const 64)))
        (local.set $b (i32.add (local.get $b) (i32.const 64)))
        (br_if $l (i32.lt_u (local.get $b) (local.get $qend))))
      (local.set $x0 (f32x4.add (local.get $x0) (local.get $x1)))
      (local.set $y0 (f32x4.add (local.get $y0) (local.get $y1)))
      (f32.store (local.get $out) (f32.add
        (f32.add (f32x4.extract_lane 0 (local.get $x0)) (f32x4.extract_lane 1 (local.get $x0)))
        (f32.add (f32x4.extract_lane 2 (local.get $x0)) (f32x4.extract_lane 3 (local.get $x0)))))
      (if (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $n))
        (then
          (f32.store offset=4 (local.get $out) (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $y0)) (f32x4.extract_lane 1 (local.get $y0)))
            (f32.add (f32x4.extract_lane 2 (local.get $y0)) (f32x4.extract_lane 3 (local.get $y0)))))))
      (local.set $idx (i32.add (local.get $idx) (i32.const 8)))
      (local.set $out (i32.add (local.get $out) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br_if $lr (i32.lt_u (local.get $i) (local.get $n)))))

  ;; The i8 scan. out[r] = f32(dot(row r of mat, q)) × scales[r] × qs for r < rows, where a row is
  ;; `bytes` int8 values (dims padded with zeros to a multiple of 16), q is `bytes` int16 values
  ;; and scales[r] is row r's f32 scale. Each 16-byte chunk of a row is sign-extended to two i16x8
  ;; and multiplied pairwise into i32x4 (i32x4.dot_i16x8_s: pmaddwd on x86), so the sum is exact in
  ;; i32 as long as 127 · max|q| · bytes < 2^31 (the caller bounds q). Four rows per pass: each q
  ;; chunk is loaded once for all four, and their four lane sums are reduced together with two
  ;; shuffle rounds, converted, scaled and stored as one f32x4 (a per-row scalar reduction cost as
  ;; much as the dot itself at 32 dims). The last rows % 4 go one at a time.
  (func (export "dotsI8") (param $mat i32) (param $rows i32) (param $bytes i32) (param $q i32) (param $scales i32)
                          (param $qs f32) (param $out i32)
    (local $end i32) (local $b i32) (local $qend i32) (local $a i32) (local $a2 i32) (local $a3 i32) (local $a4 i32)
    (local $x v128) (local $y v128) (local $z v128) (local $w v128) (local $ql v128) (local $qh v128) (local $r v128)
    (local $qsv v128)
    (local.set $qsv (f32x4.splat (local.get $qs)))
    (local.set $qend (i32.add (local.get $q) (i32.shl (local.get $bytes) (i32.const 1))))
    (local.set $end (i32.add (local.get $out) (i32.shl (i32.and (local.get $rows) (i32.const -4)) (i32.const 2))))
    (if (i32.ge_u (local.get $rows) (i32.const 4))
      (then
        (loop $lr
          (local.set $x (v128.const i32x4 0 0 0 0))
          (local.set $y (v128.const i32x4 0 0 0 0))
          (local.set $z (v128.const i32x4 0 0 0 0))
          (local.set $w (v128.const i32x4 0 0 0 0))
          (local.set $a (local.get $mat))
          (local.set $a2 (i32.add (local.get $a) (local.get $bytes)))
          (local.set $a3 (i32.add (local.get $a2) (local.get $bytes)))
          (local.set $a4 (i32.add (local.get $a3) (local.get $bytes)))
          (local.set $b (local.get $q))
          (loop $l
            (local.set $ql (v128.load (local.get $b)))
            (local.set $qh (v128.load offset=16 (local.get $b)))
            (local.set $r (v128.load (local.get $a)))
            (local.set $x (i32x4.add (local.get $x) (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $r)) (local.get $ql))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $r)) (local.get $qh)))))
            (local.set $r (v128.load (local.get $a2)))
            (local.set $y (i32x4.add (local.get $y) (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $r)) (local.get $ql))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $r)) (local.get $qh)))))
            (local.set $r (v128.load (local.get $a3)))
            (local.set $z (i32x4.add (local.get $z) (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $r)) (local.get $ql))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $r)) (local.get $qh)))))
            (local.set $r (v128.load (local.get $a4)))
            (local.set $w (i32x4.add (local.get $w) (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $r)) (local.get $ql))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $r)) (local.get $qh)))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $a2 (i32.add (local.get $a2) (i32.const 16)))
            (local.set $a3 (i32.add (local.get $a3) (i32.const 16)))
            (local.set $a4 (i32.add (local.get $a4) (i32.const 16)))
            (local.set $b (i32.add (local.get $b) (i32.const 32)))
            (br_if $l (i32.lt_u (local.get $b) (local.get $qend))))
          ;; [x0+x2, x1+x3, y0+y2, y1+y3] and the same for z, w; then [Σx, Σy, Σz, Σw].
          (local.set $x (i32x4.add
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $x) (local.get $y))
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $x) (local.get $y))))
          (local.set $z (i32x4.add
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $z) (local.get $w))
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $z) (local.get $w))))
          (local.set $x (i32x4.add
            (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $x) (local.get $z))
            (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $x) (local.get $z))))
          (v128.store (local.get $out) (f32x4.mul
            (f32x4.mul (f32x4.convert_i32x4_s (local.get $x)) (v128.load (local.get $scales)))
            (local.get $qsv)))
          (local.set $mat (i32.add (local.get $mat) (i32.shl (local.get $bytes) (i32.const 2))))
          (local.set $scales (i32.add (local.get $scales) (i32.const 16)))
          (local.set $out (i32.add (local.get $out) (i32.const 16)))
          (br_if $lr (i32.lt_u (local.get $out) (local.get $end))))))
    ;; the last rows % 4, one at a time
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $rows) (i32.const 3)) (i32.const 2))))
    (block $done
      (loop $l1r
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (local.set $x (v128.const i32x4 0 0 0 0))
        (local.set $a (local.get $mat))
        (local.set $b (local.get $q))
        (loop $l1
          (local.set $r (v128.load (local.get $a)))
          (local.set $x (i32x4.add (local.get $x) (i32x4.add
            (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $r)) (v128.load (local.get $b)))
            (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $r)) (v128.load offset=16 (local.get $b))))))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $b (i32.add (local.get $b) (i32.const 32)))
          (br_if $l1 (i32.lt_u (local.get $b) (local.get $qend))))
        (f32.store (local.get $out) (f32.mul (f32.mul (f32.convert_i32_s (i32.add
          (i32.add (i32x4.extract_lane 0 (local.get $x)) (i32x4.extract_lane 1 (local.get $x)))
          (i32.add (i32x4.extract_lane 2 (local.get $x)) (i32x4.extract_lane 3 (local.get $x)))))
          (f32.load (local.get $scales))) (local.get $qs)))
        (local.set $mat (i32.add (local.get $mat) (local.get $bytes)))
        (local.set $scales (i32.add (local.get $scales) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $l1r))))

  ;; out[r] = argmax over c < k of dot(row r of mat, row c of cent), i32, the first on ties; and
  ;; best[r] = that dot (f32). `tmp` holds k floats of scratch.
  (func (export "argmax") (param $mat i32) (param $rows i32) (param $bytes i32) (param $cent i32) (param $k i32)
                          (param $out i32) (param $best i32) (param $tmp i32)
    (local $r i32) (local $c i32) (local $p i32) (local $bv f32) (local $bi i32) (local $d f32)
    (if (i32.or (i32.eqz (local.get $rows)) (i32.eqz (local.get $k))) (then (return)))
    (loop $lr
      (call $dots (local.get $cent) (local.get $k) (local.get $bytes) (local.get $mat) (local.get $tmp))
      (local.set $bv (f32.load (local.get $tmp)))
      (local.set $bi (i32.const 0))
      (local.set $c (i32.const 1))
      (local.set $p (i32.add (local.get $tmp) (i32.const 4)))
      (block $done
        (loop $lc
          (br_if $done (i32.ge_u (local.get $c) (local.get $k)))
          (local.set $d (f32.load (local.get $p)))
          (if (f32.gt (local.get $d) (local.get $bv))
            (then (local.set $bv (local.get $d)) (local.set $bi (local.get $c))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $lc)))
      (i32.store (local.get $out) (local.get $bi))
      (f32.store (local.get $best) (local.get $bv))
      (local.set $mat (i32.add (local.get $mat) (local.get $bytes)))
      (local.set $out (i32.add (local.get $out) (i32.const 4)))
      (local.set $best (i32.add (local.get $best) (i32.const 4)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $lr (i32.lt_u (local.get $r) (local.get $rows)))))

  ;; Writes to idx the positions p < n with scores[p] >= tau, in order; returns how many.
  (func (export "above") (param $scores i32) (param $n i32) (param $tau f32) (param $idx i32) (result i32)
    (local $p i32) (local $w i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 0))))
    (loop $l
      (if (f32.ge (f32.load (local.get $scores)) (local.get $tau))
        (then
          (i32.store (local.get $idx) (local.get $p))
          (local.set $idx (i32.add (local.get $idx) (i32.const 4)))
          (local.set $w (i32.add (local.get $w) (i32.const 1)))))
      (local.set $scores (i32.add (local.get $scores) (i32.const 4)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $p) (local.get $n))))
    (local.get $w))
)
