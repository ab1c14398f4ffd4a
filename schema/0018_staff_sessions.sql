-- Staff pages (docs/PAGES.md): sessions named by a cookie, login throttling,
-- and the school accountant's role.

-- A signed-in browser.  The cookie holds a random secret; only its SHA-256
-- is kept, so a copy of this table opens no session.  A session ends at
-- logout (ended_at), after staff.session_idle_ms without a request
-- (last_seen_at), or staff.session_absolute_ms after it began (created_at).
CREATE TABLE staff_sessions (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  secret_hash   BINARY(32)      NOT NULL,
  user_id       BIGINT UNSIGNED NOT NULL,
  peer          VARCHAR(48)     NOT NULL,
  created_at    BIGINT          NOT NULL,
  last_seen_at  BIGINT          NOT NULL,
  ended_at      BIGINT          NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_staff_sessions_secret (secret_hash),
  KEY ix_staff_sessions_user (user_id),
  CONSTRAINT fk_staff_sessions_user FOREIGN KEY (user_id) REFERENCES staff_users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Failed logins per e-mail address (normalised; addresses that name no user
-- too, so the answer does not tell which exist).  Kept in the database so
-- that every instance counts the same failures.  A success clears the row;
-- locked_at stays until an admin unlocks.
CREATE TABLE staff_login_failures (
  email            VARCHAR(254)    NOT NULL,
  failures         INT UNSIGNED    NOT NULL,
  last_failure_at  BIGINT          NOT NULL,
  locked_at        BIGINT          NULL,
  PRIMARY KEY (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A school's accountant: staff scoped to one merchant (staff_users.merchant_id).
ALTER TABLE staff_users
  MODIFY role ENUM('finance','auditor','admin','accountant') NOT NULL;
