-- 0040_orders_payer_fold: the staff order search finds a payer's name however
-- it is typed: without its marks, in any case ("nguyen van an" finds
-- "Nguyễn Văn An", "dang" finds "Đặng"), as staff type names.
--
-- payer_name is utf8mb4_bin (exact bytes): comparing it under another
-- collation in the query read every order (EXPLAIN: a full scan).  The name
-- is kept as a virtual column of its own under utf8mb4_unicode_520_ci (the
-- collation that folds both the marks and đ/Đ; utf8mb4_unicode_ci leaves
-- "Đ" apart, utf8mb4_vietnamese_ci keeps every mark), and its index takes
-- the place of ix_orders_payer (0031): orders keep one index for names, so a
-- create writes no more than before.
ALTER TABLE orders
  ADD COLUMN payer_name_fold VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci
    AS (payer_name) VIRTUAL,
  ADD KEY ix_orders_payer_fold (payer_name_fold(32));
ALTER TABLE orders DROP KEY ix_orders_payer;
