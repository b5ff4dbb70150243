;; SIMD scan kernels of RecSpine's IVF index (WebAssembly SIMD128). Source of scanWasm.ts, which
;; `npm run build:wasm -w @recspine/retrieval` regenerates with wabt (a test checks the two agree).
;; Why hand-written: see scanKernel.ts.
;;
;; A row is `bytes` long: its dims padded with zeros to a multiple of 16 floats (64 bytes), so the
;; inner loop is four f32x4 multiply-adds per step with no tail. All pointers are 16-byte aligned.
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
