-- 0020_api_key_ids: every API key has a public id (key_…), so that staff can
-- name a merchant's key to rotate or revoke it.  Keys made before 0016 gave
-- keys public ids (a merchant's first key, until now) get one here: "key_"
-- and 26 Crockford base32 symbols of the row id, zero-padded, which no key
-- made by fg_id_new can have (its first symbols are the time of creation).
-- CONV writes base 32 with the digits 0-9A-V; the REPLACE chain turns them
-- into Crockford's (no I, L, O, U), from the highest digit down so that no
-- symbol is mapped twice.
UPDATE api_keys
   SET public_id = CONCAT('key_',
       REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(
         LPAD(CONV(id, 10, 32), 26, '0'),
         'V', 'Z'), 'U', 'Y'), 'T', 'X'), 'S', 'W'), 'R', 'V'), 'Q', 'T'), 'P', 'S'), 'O', 'R'), 'N', 'Q'),
         'M', 'P'), 'L', 'N'), 'K', 'M'), 'J', 'K'), 'I', 'J'))
 WHERE public_id IS NULL;

ALTER TABLE api_keys MODIFY public_id VARCHAR(40) NOT NULL;
