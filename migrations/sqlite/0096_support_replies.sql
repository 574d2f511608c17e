-- Customer replies after a hand-over (core/support Reply): a customer message
-- written on an escalated conversation is posted to its helpdesk ticket.
-- delivery is '' for every other message, 'pending' until the helpdesk took
-- the reply (the polling job retries it, with the message's own idempotency
-- key, so a retry adds one message to the ticket), then 'sent'.

ALTER TABLE support_messages ADD COLUMN delivery text NOT NULL DEFAULT '';
CREATE INDEX support_messages_pending_idx ON support_messages (conversation_id, created_at) WHERE delivery = 'pending';
