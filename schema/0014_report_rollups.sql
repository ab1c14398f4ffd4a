-- 0014_report_rollups: collections summed per business day, maintained from
-- the ledger exactly once (docs/REPORTS.md, "Rollups").
--
-- A journal belongs to the rollups once its first ledger entry is at or below
-- the watermark: the job (services/reports/rollup.c) adds the journals whose
-- first entry lies between the watermark and a settled mark (db/settle.h:
-- every entry id up to it is final), and moves the watermark, in one
-- transaction.  A report adds the journals above the watermark from the
-- ledger itself, so it is exact whatever the lag.

CREATE TABLE report_daily (
  day          INT             NOT NULL, -- yyyymmdd, GMT+7
  merchant_id  BIGINT UNSIGNED NOT NULL,
  fee_type     VARCHAR(16)     NOT NULL,
  category     VARCHAR(64)     NOT NULL, -- '' for an order without one
  adapter      VARCHAR(16)     NOT NULL,
  payments     BIGINT          NOT NULL DEFAULT 0,
  collected    BIGINT          NOT NULL DEFAULT 0,
  refunded     BIGINT          NOT NULL DEFAULT 0,
  fees         BIGINT          NOT NULL DEFAULT 0,
  PRIMARY KEY (day, merchant_id, fee_type, category, adapter),
  KEY ix_report_daily_merchant (merchant_id, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- the same by month (yyyymm): a year of every merchant is a few rows each
CREATE TABLE report_monthly (
  month        INT             NOT NULL, -- yyyymm, GMT+7
  merchant_id  BIGINT UNSIGNED NOT NULL,
  fee_type     VARCHAR(16)     NOT NULL,
  category     VARCHAR(64)     NOT NULL,
  adapter      VARCHAR(16)     NOT NULL,
  payments     BIGINT          NOT NULL DEFAULT 0,
  collected    BIGINT          NOT NULL DEFAULT 0,
  refunded     BIGINT          NOT NULL DEFAULT 0,
  fees         BIGINT          NOT NULL DEFAULT 0,
  PRIMARY KEY (month, merchant_id, fee_type, category, adapter),
  KEY ix_report_monthly_merchant (merchant_id, month)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- the same by day for the whole city (no merchant): what staff read when they do not group by merchant
CREATE TABLE report_daily_city (
  day          INT             NOT NULL,
  fee_type     VARCHAR(16)     NOT NULL,
  category     VARCHAR(64)     NOT NULL,
  adapter      VARCHAR(16)     NOT NULL,
  payments     BIGINT          NOT NULL DEFAULT 0,
  collected    BIGINT          NOT NULL DEFAULT 0,
  refunded     BIGINT          NOT NULL DEFAULT 0,
  fees         BIGINT          NOT NULL DEFAULT 0,
  PRIMARY KEY (day, fee_type, category, adapter)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE report_watermarks (
  name           VARCHAR(32)     NOT NULL,
  upto_entry_id  BIGINT UNSIGNED NOT NULL,
  updated_at     BIGINT          NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT INTO report_watermarks (name, upto_entry_id, updated_at) VALUES ('collections', 0, 0);

-- A staff account may be scoped to one merchant (a school's accountant): it
-- reads that merchant's reports and nothing of the city's.
ALTER TABLE staff_users
  ADD COLUMN merchant_id BIGINT UNSIGNED NULL AFTER role,
  ADD CONSTRAINT fk_staff_users_merchant FOREIGN KEY (merchant_id) REFERENCES merchants (id);
