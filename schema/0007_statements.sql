-- 0007_statements: bank statements as imported (docs/DESIGN.md §7).
--
-- An import is one file: its SHA-256 is unique, so the same file again is
-- answered with the import it already made and adds nothing.  A file holds
-- one or more statements (an MT940 file several), each a day or period of
-- one account with its opening and closing balance; opening + the lines
-- equals closing, checked before anything is stored.  Lines are keyed per
-- account (line_key, the SHA-256 of the bank's reference, else the end-to-end
-- id with date and amount, else date, amount, memo and the occurrence within
-- the day): a line seen in an earlier file is not stored again, so an
-- overlapping export imports only its new lines.  Lines are append-only
-- facts; what reconciliation makes of them lives in its own tables.
CREATE TABLE statement_imports (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id        VARCHAR(40)     NOT NULL,
  file_sha256      BINARY(32)      NOT NULL,
  format           VARCHAR(16)     NOT NULL,
  file_bytes       BIGINT          NOT NULL,
  statement_count  INT UNSIGNED    NOT NULL,
  line_count       INT UNSIGNED    NOT NULL,
  new_lines        INT UNSIGNED    NOT NULL,
  overlapped_lines INT UNSIGNED    NOT NULL,
  imported_by      VARCHAR(300)    NOT NULL,
  created_at       BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_statement_imports_public_id (public_id),
  UNIQUE KEY uq_statement_imports_file (file_sha256)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE statements (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  import_id     BIGINT UNSIGNED NOT NULL,
  seq_in_file   INT UNSIGNED    NOT NULL,
  bank_id       VARCHAR(64)     NOT NULL,
  account       VARCHAR(34)     NOT NULL,
  currency      CHAR(3)         NOT NULL,
  opening       BIGINT          NULL,
  closing       BIGINT          NULL,
  opening_date  INT             NULL,
  closing_date  INT             NULL,
  from_date     INT             NULL,
  to_date       INT             NULL,
  line_count    INT UNSIGNED    NOT NULL,
  credits       BIGINT          NOT NULL,
  debits        BIGINT          NOT NULL,
  -- opening - the previous statement's closing of the account, when not 0
  gap           BIGINT          NULL,
  created_at    BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_statements_import_seq (import_id, seq_in_file),
  KEY ix_statements_account (account, closing_date, id),
  CONSTRAINT fk_statements_import FOREIGN KEY (import_id) REFERENCES statement_imports (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE statement_lines (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  statement_id  BIGINT UNSIGNED NOT NULL,
  account       VARCHAR(34)     NOT NULL,
  line_key      BINARY(32)      NOT NULL,
  currency      CHAR(3)         NOT NULL,
  amount        BIGINT          NOT NULL,
  reversal      TINYINT         NOT NULL,
  booking_date  INT             NOT NULL,
  value_date    INT             NOT NULL,
  bank_ref      VARCHAR(64)     NOT NULL,
  end_to_end    VARCHAR(64)     NOT NULL,
  counterparty  VARCHAR(140)    NOT NULL,
  memo          VARCHAR(2048)   NOT NULL,
  type          VARCHAR(32)     NOT NULL,
  source_line   INT UNSIGNED    NOT NULL,
  -- the bank listed this line's key before in the same statement: kept, and
  -- its reconciliation item is a 'duplicate' exception
  duplicate     TINYINT         NOT NULL DEFAULT 0,
  created_at    BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_statement_lines_key (account, line_key),
  KEY ix_statement_lines_statement (statement_id, id),
  KEY ix_statement_lines_day (account, value_date),
  CONSTRAINT fk_statement_lines_statement FOREIGN KEY (statement_id) REFERENCES statements (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Statement rows are facts: never changed, never deleted.
DELIMITER $$
CREATE TRIGGER statement_lines_no_update BEFORE UPDATE ON statement_lines FOR EACH ROW
BEGIN
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'statement_lines are append-only';
END$$
CREATE TRIGGER statement_lines_no_delete BEFORE DELETE ON statement_lines FOR EACH ROW
BEGIN
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'statement_lines are append-only';
END$$
DELIMITER ;
