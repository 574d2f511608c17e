-- The AI support assistant (core/support): conversations of a customer (one
-- user of one account) with the assistant, their messages, and the tokens each
-- account spent per UTC day (the daily cap). A conversation handed to a human
-- holds its helpdesk ticket (ticket_id, set once: a retried escalation reuses
-- escalation_key, which the helpdesk plugin is idempotent on); the polling job
-- copies the ticket's state and the operators' replies (role 'staff', one row
-- per helpdesk message: helpdesk_message_id is unique per conversation).
-- Conversations whose last message is older than support.retention are purged
-- with their messages.

CREATE TABLE support_conversations (
    id                 text PRIMARY KEY,
    account_id         text NOT NULL,
    user_id            text NOT NULL,
    subject            text NOT NULL,
    escalated          boolean NOT NULL DEFAULT false,
    escalation_reason  text NOT NULL DEFAULT '',
    escalated_by       text NOT NULL DEFAULT '',
    escalation_key     text NOT NULL DEFAULT '',
    ticket_id          text NOT NULL DEFAULT '',
    ticket_number      text NOT NULL DEFAULT '',
    ticket_url         text NOT NULL DEFAULT '',
    ticket_state       text NOT NULL DEFAULT '',
    ticket_status      text NOT NULL DEFAULT '',
    replies_after      bigint NOT NULL DEFAULT 0,
    polled_at          timestamptz,
    created_at         timestamptz NOT NULL,
    last_message_at    timestamptz NOT NULL
);
CREATE INDEX support_conversations_account_idx ON support_conversations (account_id, user_id, id);
CREATE INDEX support_conversations_last_idx ON support_conversations (last_message_at);
CREATE INDEX support_conversations_ticket_idx ON support_conversations (polled_at) WHERE ticket_id <> '' AND ticket_state <> 'closed';

CREATE TABLE support_messages (
    id                  text PRIMARY KEY,
    conversation_id     text NOT NULL REFERENCES support_conversations (id) ON DELETE CASCADE,
    account_id          text NOT NULL,
    role                text NOT NULL CHECK (role IN ('customer', 'assistant', 'staff')),
    text                text NOT NULL,
    citations           text NOT NULL DEFAULT '[]',
    input_tokens        bigint NOT NULL DEFAULT 0,
    output_tokens       bigint NOT NULL DEFAULT 0,
    escalate            boolean NOT NULL DEFAULT false,
    rating              integer NOT NULL DEFAULT 0 CHECK (rating IN (-1, 0, 1)),
    author_name         text NOT NULL DEFAULT '',
    helpdesk_message_id text,
    created_at          timestamptz NOT NULL,
    UNIQUE (conversation_id, helpdesk_message_id)
);
CREATE INDEX support_messages_conversation_idx ON support_messages (conversation_id, id);

CREATE TABLE support_token_usage (
    account_id text NOT NULL,
    day        text NOT NULL,
    tokens     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, day)
);
