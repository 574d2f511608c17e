package support

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/sdk"
)

// Options configure the support assistant. Zero values take the defaults
// in brackets.
type Options struct {
	// Assistant names the assistant plugin block; empty turns the
	// assistant off (asking is refused). [none]
	Assistant string
	// Helpdesk names the helpdesk plugin block; empty: conversations
	// cannot be escalated. [none]
	Helpdesk string
	// Articles is how many knowledge-base articles go with a question. [3]
	Articles int
	// Retention: conversations whose last message is older are purged. [90 days]
	Retention time.Duration
	// AskLimit questions per user per AskWindow, and as many replies to
	// the support team, counted apart. [20 per hour]
	AskLimit  int
	AskWindow time.Duration
	// DailyTokens caps the tokens (input and output) an account's
	// questions may spend per UTC day. [200000]
	DailyTokens int64
	// MaxQuestion is the longest question, in characters. [4000]
	MaxQuestion int
	// History is how many earlier messages of the conversation go with a
	// question. [20]
	History int
	// PollInterval spaces the polls of open tickets for replies and
	// status; negative registers no periodic jobs (tests call Poll and
	// Purge). [1m]
	PollInterval time.Duration
	// PollBatch tickets are polled per run. [100]
	PollBatch int
	// AnswerTimeout bounds one streamed answer; CallTimeout one helpdesk
	// call. [2m, 30s]
	AnswerTimeout time.Duration
	CallTimeout   time.Duration
	// KnowledgeInterval spaces the checks of the knowledge folder for
	// added, edited or removed articles (WatchKnowledge). [1m]
	KnowledgeInterval time.Duration
	// Now is the clock (tests); nil = the wall clock.
	Now func() time.Time
}

// DefaultOptions are the assistant's settings when nothing is configured.
func DefaultOptions() Options {
	return Options{Articles: 3, Retention: 90 * 24 * time.Hour, AskLimit: 20, AskWindow: time.Hour, DailyTokens: 200000,
		MaxQuestion: 4000, History: 20, PollInterval: time.Minute, PollBatch: 100, AnswerTimeout: 2 * time.Minute,
		CallTimeout: 30 * time.Second, KnowledgeInterval: time.Minute}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Articles <= 0 {
		o.Articles = d.Articles
	}
	if o.Retention <= 0 {
		o.Retention = d.Retention
	}
	if o.AskLimit <= 0 {
		o.AskLimit = d.AskLimit
	}
	if o.AskWindow <= 0 {
		o.AskWindow = d.AskWindow
	}
	if o.DailyTokens <= 0 {
		o.DailyTokens = d.DailyTokens
	}
	if o.MaxQuestion <= 0 {
		o.MaxQuestion = d.MaxQuestion
	}
	if o.History <= 0 {
		o.History = d.History
	}
	if o.PollInterval == 0 {
		o.PollInterval = d.PollInterval
	}
	if o.PollBatch <= 0 {
		o.PollBatch = d.PollBatch
	}
	if o.AnswerTimeout <= 0 {
		o.AnswerTimeout = d.AnswerTimeout
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = d.CallTimeout
	}
	if o.KnowledgeInterval <= 0 {
		o.KnowledgeInterval = d.KnowledgeInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Plugins reaches the assistant and helpdesk plugins (*pluginhost.Host).
type Plugins interface {
	Assistant(name string) (sdk.Assistant, error)
	Helpdesk(name string) (sdk.Helpdesk, error)
}

// Users gives the helpdesk who is asking (core/accounts).
type Users interface {
	// Contact returns the user's email address and display name.
	Contact(ctx context.Context, userID string) (email, name string, err error)
}

// Notifier tells the customer of replies and status changes
// (*notify.Service).
type Notifier interface {
	Notify(ctx context.Context, tx bun.Tx, ev notify.Event) error
}

// Deps are what the assistant needs from the rest of the platform.
type Deps struct {
	DB      *database.DB
	Jobs    *jobs.Registry
	Limiter *ratelimit.Limiter
	Plugins Plugins
	// Billing and Activity are read for the account context (billing and
	// the scheduler, through core/app).
	Billing  Billing
	Activity Activity
	Users    Users
	Notifier Notifier
	// Knowledge is the knowledge base; nil: none.
	Knowledge *Knowledge
	Logger    hclog.Logger
}

// Service is the support assistant.
type Service struct {
	db        *database.DB
	limiter   *ratelimit.Limiter
	plugins   Plugins
	billing   Billing
	activity  Activity
	users     Users
	notifier  Notifier
	knowledge *Knowledge
	log       hclog.Logger
	opts      Options
}

// New builds the service and registers its jobs.
func New(deps Deps, opts Options) *Service {
	opts = opts.withDefaults()
	if deps.Logger == nil {
		deps.Logger = hclog.NewNullLogger()
	}
	if deps.Knowledge == nil {
		deps.Knowledge, _ = LoadKnowledge(nil, KnowledgeOptions{})
	}
	s := &Service{db: deps.DB, limiter: deps.Limiter, plugins: deps.Plugins, billing: deps.Billing, activity: deps.Activity,
		users: deps.Users, notifier: deps.Notifier, knowledge: deps.Knowledge, log: deps.Logger, opts: opts}
	if s.limiter != nil {
		s.limiter = s.limiter.WithClock(opts.Now)
	}
	if deps.Jobs != nil {
		s.registerJobs(deps.Jobs)
	}
	return s
}

// Options returns the effective options.
func (s *Service) Options() Options { return s.opts }

// Knowledge returns the knowledge base.
func (s *Service) Knowledge() *Knowledge { return s.knowledge }

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Conversation is one customer's conversation with the assistant.
type Conversation struct {
	bun.BaseModel `bun:"table:support_conversations"`

	ID        string `bun:"id,pk" json:"id"`
	AccountID string `bun:"account_id" json:"account_id"`
	UserID    string `bun:"user_id" json:"user_id"`
	Subject   string `bun:"subject" json:"subject"`
	// Escalated: handed to a human (EscalatedBy "customer" or
	// "assistant"); the ticket fields are set once the helpdesk opened it.
	Escalated        bool   `bun:"escalated" json:"escalated"`
	EscalationReason string `bun:"escalation_reason" json:"escalation_reason"`
	EscalatedBy      string `bun:"escalated_by" json:"escalated_by"`
	EscalationKey    string `bun:"escalation_key" json:"-"`
	TicketID         string `bun:"ticket_id" json:"ticket_id"`
	TicketNumber     string `bun:"ticket_number" json:"ticket_number"`
	TicketURL        string `bun:"ticket_url" json:"ticket_url"`
	// TicketState is "open", "waiting_on_customer", "closed" or
	// "unknown"; TicketStatus the helpdesk's own name for it.
	TicketState   string     `bun:"ticket_state" json:"ticket_state"`
	TicketStatus  string     `bun:"ticket_status" json:"ticket_status"`
	RepliesAfter  int64      `bun:"replies_after" json:"-"`
	PolledAt      *time.Time `bun:"polled_at" json:"-"`
	CreatedAt     time.Time  `bun:"created_at" json:"created_at"`
	LastMessageAt time.Time  `bun:"last_message_at" json:"last_message_at"`

	// Messages, oldest first (Get only).
	Messages []Message `bun:"-" json:"messages,omitempty"`
}

// Message roles.
const (
	RoleCustomer  = "customer"
	RoleAssistant = "assistant"
	RoleStaff     = "staff"
)

// Citation is a knowledge-base article an answer cites.
type Citation struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Message is one message of a conversation: the customer's question (or,
// once escalated, their reply to the support team), the assistant's
// answer, or an operator's reply on the ticket.
type Message struct {
	bun.BaseModel `bun:"table:support_messages"`

	ID             string `bun:"id,pk" json:"id"`
	ConversationID string `bun:"conversation_id" json:"conversation_id"`
	AccountID      string `bun:"account_id" json:"-"`
	Role           string `bun:"role" json:"role"`
	Text           string `bun:"text" json:"text"`
	CitationsJSON  string `bun:"citations" json:"-"`
	InputTokens    int64  `bun:"input_tokens" json:"input_tokens"`
	OutputTokens   int64  `bun:"output_tokens" json:"output_tokens"`
	// Escalate: the assistant asked for a human with this answer.
	Escalate bool `bun:"escalate" json:"escalate"`
	// Rating is the customer's: 1 helpful, -1 not helpful, 0 not rated.
	Rating            int     `bun:"rating" json:"rating"`
	AuthorName        string  `bun:"author_name" json:"author_name"`
	HelpdeskMessageID *string `bun:"helpdesk_message_id" json:"-"`
	// Delivery says whether a customer's reply after the hand-over is on
	// the ticket (DeliverySent) or waits for the helpdesk
	// (DeliveryPending); empty for every other message.
	Delivery string `bun:"delivery" json:"delivery"`
	// RequestKey is the client's idempotency key of a reply.
	RequestKey *string   `bun:"request_key" json:"-"`
	CreatedAt  time.Time `bun:"created_at" json:"created_at"`

	Citations []Citation `bun:"-" json:"citations"`
}

func (m *Message) decode() {
	m.Citations = []Citation{}
	if m.CitationsJSON != "" {
		_ = json.Unmarshal([]byte(m.CitationsJSON), &m.Citations)
	}
}

// tokenUsage is an account's tokens of one UTC day.
type tokenUsage struct {
	bun.BaseModel `bun:"table:support_token_usage"`

	AccountID string `bun:"account_id,pk"`
	Day       string `bun:"day,pk"`
	Tokens    int64  `bun:"tokens"`
}

// maxSubject bounds a conversation's subject, in characters.
const maxSubject = 120

// maxAuthorName and maxStatusName bound the helpdesk's names of an
// operator and of a ticket's status, in bytes.
const (
	maxAuthorName = 200
	maxStatusName = 100
)

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// StartInput starts a conversation.
type StartInput struct {
	// Subject is optional: the first question's start when empty.
	Subject string `json:"subject"`
}

// Start opens a conversation for a user of an account. Errors: Invalid
// (subject too long), Unprocessable (reason assistant_off).
func (s *Service) Start(ctx context.Context, accountID, userID string, in StartInput) (*Conversation, error) {
	if s.opts.Assistant == "" {
		return nil, offErr()
	}
	if utf8.RuneCountInString(in.Subject) > maxSubject {
		return nil, apperr.Field("subject", "must be at most %d characters", maxSubject)
	}
	now := s.now()
	c := &Conversation{ID: newID(), AccountID: accountID, UserID: userID, Subject: strings.TrimSpace(in.Subject), CreatedAt: now, LastMessageAt: now}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(c).Exec(ctx); err != nil {
			return fmt.Errorf("support: starting a conversation: %w", err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "support.conversation.start", AccountID: accountID, TargetType: "support_conversation",
			TargetID: c.ID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func offErr() error {
	return &apperr.Error{Code: apperr.Unprocessable, Reason: "assistant_off", Message: "the support assistant is not enabled"}
}

// own loads one of the user's conversations in the account. Errors:
// NotFound (another user's or account's, or unknown).
func (s *Service) own(ctx context.Context, db bun.IDB, accountID, userID, id string) (*Conversation, error) {
	c := &Conversation{}
	err := db.NewSelect().Model(c).Where("id = ?", id).Where("account_id = ?", accountID).Where("user_id = ?", userID).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("conversation not found")
	}
	if err != nil {
		return nil, fmt.Errorf("support: loading conversation %s: %w", id, err)
	}
	return c, nil
}

func (s *Service) messages(ctx context.Context, conversationID string) ([]Message, error) {
	ms := []Message{}
	if err := s.db.Conn(ctx).NewSelect().Model(&ms).Where("conversation_id = ?", conversationID).OrderExpr("created_at, id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("support: loading the messages of %s: %w", conversationID, err)
	}
	for i := range ms {
		ms[i].decode()
	}
	return ms, nil
}

// Get returns one of the user's conversations with its messages. Errors:
// NotFound.
func (s *Service) Get(ctx context.Context, accountID, userID, id string) (*Conversation, error) {
	c, err := s.own(ctx, s.db.Conn(ctx), accountID, userID, id)
	if err != nil {
		return nil, err
	}
	if c.Messages, err = s.messages(ctx, id); err != nil {
		return nil, err
	}
	return c, nil
}

// Page is a page of conversations, newest first.
type Page struct {
	Data       []Conversation `json:"data"`
	NextCursor string         `json:"next_cursor"`
}

// ListFilter selects conversations for staff.
type ListFilter struct {
	AccountID string
	// Escalated: only those handed to a human.
	Escalated bool
}

// List lists the user's conversations in the account, newest first
// (without their messages). cursor is a previous page's NextCursor.
func (s *Service) List(ctx context.Context, accountID, userID, cursor string, limit int) (*Page, error) {
	return s.list(ctx, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("account_id = ?", accountID).Where("user_id = ?", userID)
	}, cursor, limit)
}

// ListAll lists every account's conversations for staff, newest first.
func (s *Service) ListAll(ctx context.Context, f ListFilter, cursor string, limit int) (*Page, error) {
	return s.list(ctx, func(q *bun.SelectQuery) *bun.SelectQuery {
		if f.AccountID != "" {
			q = q.Where("account_id = ?", f.AccountID)
		}
		if f.Escalated {
			q = q.Where("escalated")
		}
		return q
	}, cursor, limit)
}

func (s *Service) list(ctx context.Context, where func(*bun.SelectQuery) *bun.SelectQuery, cursor string, limit int) (*Page, error) {
	if cursor != "" {
		if _, err := uuid.Parse(cursor); err != nil {
			return nil, apperr.Field("cursor", "is not a cursor of this list")
		}
	}
	limit = min(max(limit, 1), 100)
	out := &Page{Data: []Conversation{}}
	q := where(s.db.Conn(ctx).NewSelect().Model(&out.Data)).OrderExpr("id DESC").Limit(int64(limit + 1))
	if cursor != "" {
		q = q.Where("id < ?", cursor)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("support: listing conversations: %w", err)
	}
	if len(out.Data) > limit {
		out.Data = out.Data[:limit]
		out.NextCursor = out.Data[limit-1].ID
	}
	return out, nil
}

// Rate records the customer's rating of one of the assistant's answers in
// their conversations (helpful or not; rating again replaces it). Errors:
// NotFound (another user's message, or not an answer).
func (s *Service) Rate(ctx context.Context, accountID, userID, messageID string, helpful bool) (*Message, error) {
	rating := -1
	if helpful {
		rating = 1
	}
	m := &Message{}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewSelect().Model(m).Where("id = ?", messageID).Where("account_id = ?", accountID).Where("role = ?", RoleAssistant).
			Where("conversation_id IN (?)", tx.NewSelect().Model((*Conversation)(nil)).Column("id").
				Where("account_id = ?", accountID).Where("user_id = ?", userID)).Scan(ctx)
		if database.IsNoRows(err) {
			return apperr.NotFoundf("answer not found")
		}
		if err != nil {
			return fmt.Errorf("support: loading message %s: %w", messageID, err)
		}
		if _, err := tx.NewUpdate().Model((*Message)(nil)).Set("rating = ?", rating).Where("id = ?", messageID).Exec(ctx); err != nil {
			return fmt.Errorf("support: rating message %s: %w", messageID, err)
		}
		m.Rating = rating
		_, err = audit.Append(ctx, tx, audit.Event{Action: "support.answer.rate", AccountID: accountID, TargetType: "support_message",
			TargetID: messageID, Changes: map[string]any{"helpful": helpful, "conversation_id": m.ConversationID}})
		return err
	})
	if err != nil {
		return nil, err
	}
	m.decode()
	return m, nil
}
