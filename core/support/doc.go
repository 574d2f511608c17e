// Package support is the AI support assistant: customers ask questions in
// conversations, an assistant plugin (Anthropic's Claude) answers them as a
// stream, and a helpdesk plugin (SupportPal) takes over when the assistant
// or the customer asks for a human.
//
// A conversation belongs to one user of one account; only that user reads
// it, asks in it, escalates or rates it (another's is NotFound). Ask sends
// the assistant the question, the conversation so far (Options.History
// messages), the account context (AccountContext: the account's services
// with status and plan, unpaid and overdue invoices, balance, failed task
// runs and auto-recovery events of the last seven days, open tickets; read
// through billing and the scheduler for that account only, with no secret)
// and the Options.Articles knowledge-base articles that best match the
// question (Knowledge: markdown files of a folder, ranked by BM25 with
// bleve; WatchKnowledge re-indexes it off to the side and swaps the new
// index in when the folder changes, and ReloadKnowledge does so at once
// for staff). Articles and context are data: the plugin keeps them apart from
// its instructions, and the assistant can only answer (citing articles by
// id; a cited id the question was not sent is dropped) or ask for a human.
// It performs no action.
//
// Escalate (or the assistant's signal) opens a ticket in the helpdesk with
// the transcript and the context; the key the helpdesk is idempotent on is
// the conversation's, so a retried or concurrent escalation opens one
// ticket. No plugin call is made inside a transaction: the question is
// stored, the answer streamed, then the answer stored; the escalation is
// recorded, the ticket opened, then its link stored.
//
// The poll job (Poll, every Options.PollInterval) reads the open tickets
// from the helpdesk, stores the operators' replies as staff messages (once
// each) and tells the user through the notification center (support.reply,
// support.ticket_status). The purge job (Purge, hourly) deletes
// conversations idle for longer than Options.Retention.
//
// Limits: Options.AskLimit questions per user per Options.AskWindow
// (core/ratelimit), and Options.DailyTokens tokens per account per UTC day
// (the rest of the day's budget bounds each answer's output). Staff see
// Stats: conversations answered without escalation, escalated, and answers
// rated helpful or not.
//
// The package owns support_conversations, support_messages and
// support_token_usage, and reads no other domain's tables.
package support
