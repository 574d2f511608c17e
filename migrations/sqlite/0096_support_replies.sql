-- Customer replies after a hand-over (core/support Reply): a customer message
-- written on an escalated conversation is posted to its helpdesk ticket.
-- delivery is '' for every other message, 'pending' until the helpdesk took
-- the reply (the polling job retries it, with the message's own idempotency
-- key, so a retry adds one message to the ticket), then 'sent'. request_key is
-- the client's Idempotency-Key of the reply (NULL without one): a retried
-- request stores no second message.

ALTER TABLE support_messages ADD COLUMN delivery text NOT NULL DEFAULT '';
ALTER TABLE support_messages ADD COLUMN request_key text;
CREATE INDEX support_messages_pending_idx ON support_messages (conversation_id, created_at) WHERE delivery = 'pending';
CREATE UNIQUE INDEX support_messages_request_key_idx ON support_messages (conversation_id, request_key);
