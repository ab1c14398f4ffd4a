-- 0017_payer_pages: what the payer pages (docs/PAGES.md) keep in the database.
--
-- payments.redirect_url: where a started payment sends the payer (VNPay's signed
-- URL, MoMo's payUrl, the sandbox page).  A payer who reloads the bill or taps
-- the pay button twice is sent to the pending payment of that method again
-- instead of starting a second one: POST /pay/{code}/start reads the pending
-- payment of (order, method) under the order's row lock, the lock every payment
-- start takes first (services/payments/create.c), so two starts of one order
-- serialise there and the second finds the first.  MoMo's payUrl is only known
-- after its create call: NULL until then.
--
-- payer_rate_windows: the starts counted per client address and per order in
-- fixed windows, kept here so that every feegate instance sharing the database
-- counts against the same limits.  A start adds one to its two rows with
-- INSERT … ON DUPLICATE KEY UPDATE (the row lock serialises concurrent starts)
-- and reads the count back; the request that opens a window deletes windows
-- that have ended (a few hundred rows at a time), so the table holds about two
-- windows of rows.
ALTER TABLE payments
  ADD COLUMN redirect_url VARCHAR(2048) NULL AFTER failure_reason;

CREATE TABLE payer_rate_windows (
  scope        ENUM('address','order') NOT NULL,
  subject      VARCHAR(64)     NOT NULL,
  window_start BIGINT          NOT NULL,
  hits         INT UNSIGNED    NOT NULL,
  PRIMARY KEY (scope, subject, window_start),
  KEY ix_payer_rate_windows_start (window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
