-- 0012_payer_refunds_bank_accounts: the outgoing transfer of a refund resolution; one lock per bank account.
--
-- Staff resolve money that is not ours with `refund`: it is owed to its
-- payer (liabilities:payer_refunds) until it leaves.  The debit line that
-- sends it back (its memo naming the bank reference of the line that
-- brought it, the same amount) is matched to that item by the rule
-- 'payer_refund', posts Dr liabilities:payer_refunds, Cr the unreconciled
-- account, and marks the item paid out.
ALTER TABLE recon_items
  MODIFY rule ENUM('reference','order_code','amount_date','settlement','payer_refund') NULL,
  ADD COLUMN paid_out_by BIGINT UNSIGNED NULL AFTER resolution_journal_id;

-- One row per bank account whose statements were imported: an import locks
-- it before it holds the statement's balances against the ledger's, so two
-- imports of one account never read each other's half-written postings.
CREATE TABLE bank_accounts (
  account     VARCHAR(34)  NOT NULL,
  created_at  BIGINT       NOT NULL,
  PRIMARY KEY (account)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
