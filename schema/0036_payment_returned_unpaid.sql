-- 0036_payment_returned_unpaid: the payer came back from the provider's page
-- with a signed answer that the payment did not go through (cancelled at
-- VNPay, declined at MoMo) before its notification settled it
-- (services/web/return.c).
--
-- The payment stays pending: only the provider's notification or the status
-- query settles a payment.  The mark only stops the bill's pay button from
-- sending the payer back to that payment's page again (a provider takes a
-- transaction reference once): the next tap starts a new payment.  The change
-- feed does not list the column (payments_change_update compares the others).
ALTER TABLE payments
  ADD COLUMN returned_unpaid_at BIGINT NULL AFTER next_query_at;
