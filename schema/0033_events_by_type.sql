-- 0033_events_by_type: GET /v1/events?type= finds a merchant's events of a
-- type through an index (services/webhooks/events.c).
--
-- The list read the merchant's events in seq order (ix_events_merchant_seq)
-- and tested each one's type, so that a type the merchant rarely has read
-- every event it ever had: 0.45 s at 300,000 events of one merchant, and
-- linear beyond.  ix_events_merchant_type finds them; it ends in id, not seq,
-- so that numbering an event (the sequencer's UPDATE of seq) leaves it alone.
-- It replaces ix_events_merchant (merchant_id, id), which no read uses any
-- more (events are paged by seq since 0016), so an event's insert still
-- writes the same number of index entries.
ALTER TABLE events
  DROP KEY ix_events_merchant,
  ADD KEY ix_events_merchant_type (merchant_id, type, id);
