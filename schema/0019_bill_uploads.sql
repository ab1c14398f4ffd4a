-- 0019_bill_uploads: a bills file uploaded from the staff pages, kept between
-- its preview and its commit (docs/PAGES.md, "Bills from a spreadsheet").
--
-- The preview and the commit are two requests, possibly to two instances:
-- the file waits here, named by its public id and tied to the staff member
-- who uploaded it and the merchant it is for.  The commit reads the same
-- bytes again and runs the same validation, so what the preview showed is
-- what happens (or, if time made a row invalid since, nothing does).
-- Uploads older than a day are deleted as new ones arrive.
CREATE TABLE bill_uploads (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  public_id     VARCHAR(40)     NOT NULL,
  staff_user_id BIGINT UNSIGNED NOT NULL,
  merchant_id   BIGINT UNSIGNED NOT NULL,
  file_name     VARCHAR(255)    NOT NULL,
  format        ENUM('csv','xlsx') NOT NULL,
  fee_type      VARCHAR(16)     NULL,
  content       MEDIUMBLOB      NOT NULL,
  committed_at  BIGINT          NULL,
  created_at    BIGINT          NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_bill_uploads_public_id (public_id),
  KEY ix_bill_uploads_created (created_at),
  CONSTRAINT fk_bill_uploads_staff FOREIGN KEY (staff_user_id) REFERENCES staff_users (id),
  CONSTRAINT fk_bill_uploads_merchant FOREIGN KEY (merchant_id) REFERENCES merchants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
