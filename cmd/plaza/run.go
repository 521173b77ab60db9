package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/agent"
	"github.com/plaza-crm/plaza/api"
	"github.com/plaza-crm/plaza/knowledge"
	"github.com/plaza-crm/plaza/llm"
	"github.com/plaza-crm/plaza/mail"
	"github.com/plaza-crm/plaza/messaging"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/whatsapp"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; else
// it is read from the module's build information.
var version = ""

func plazaVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "devel-" + s.Value[:12]
			}
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "devel"
}

const usage = `Plaza: a self-hostable conversational CRM server that speaks Plazbot's API.

Usage:
  plaza serve      [flags]   run the HTTP API (applies migrations first)
  plaza migrate    [flags]   apply database migrations and exit
  plaza bootstrap  --workspace NAME --email EMAIL --password PASSWORD [--name N] [--last-name L]
                             create a workspace, its owner and an API key; prints JSON
  plaza version              print the version

Run "plaza COMMAND --help" for a command's flags. Every flag has a PLAZA_*
environment variable; secrets may also come from a file named by *_FILE.
`

// run is the whole program, with its environment passed in so tests run
// it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stderr)
	case "bootstrap":
		return runBootstrap(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "plaza", plazaVersion())
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// env reads a setting from NAME, or from the file named by NAME_FILE.
func env(getenv func(string) string, name string) (string, error) {
	if v := getenv(name); v != "" {
		return v, nil
	}
	if f := getenv(name + "_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// flags is a command's flag set whose flags fall back on PLAZA_*
// variables. The variables are read after parsing, for the flags not given,
// so --help shows the built-in defaults and never a secret from the
// environment.
type flags struct {
	*flag.FlagSet
	getenv func(string) string
	envs   [][2]string // flag name, variable name
}

func newFlags(name string, getenv func(string) string, stderr io.Writer) *flags {
	fs := flag.NewFlagSet("plaza "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &flags{FlagSet: fs, getenv: getenv}
}

func (f *flags) fromEnv(name, envName, help string) string {
	f.envs = append(f.envs, [2]string{name, envName})
	return help + " (env " + envName + ")"
}

func (f *flags) string(name, envName, def, help string) *string {
	return f.String(name, def, f.fromEnv(name, envName, help))
}

func (f *flags) bool(name, envName string, help string) *bool {
	return f.Bool(name, false, f.fromEnv(name, envName, help))
}

func (f *flags) duration(name, envName string, def time.Duration, help string) *time.Duration {
	return f.Duration(name, def, f.fromEnv(name, envName, help))
}

func (f *flags) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.Arg(0))
	}
	given := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	for _, e := range f.envs {
		if given[e[0]] {
			continue
		}
		v, err := env(f.getenv, e[1])
		if err != nil {
			return err
		}
		if v == "" {
			continue
		}
		if err := f.Set(e[0], v); err != nil { // only bools and durations can fail, never secrets
			return fmt.Errorf("%s: invalid value %q for --%s", e[1], v, e[0])
		}
	}
	return nil
}

func (f *flags) database() *string {
	return f.string("database", "PLAZA_DATABASE_URL", "sqlite:plaza.db", "database URL: sqlite:FILE or postgres://...")
}

// openDB opens and migrates the database.
func openDB(ctx context.Context, dsn string) (*sqldb.DB, error) {
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	f := newFlags("migrate", getenv, stderr)
	dsn := f.database()
	if err := f.parse(args); err != nil || helpAsked(args) {
		return err
	}
	db, err := openDB(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(stderr, "plaza: migrations applied")
	return nil
}

func runBootstrap(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("bootstrap", getenv, stderr)
	dsn := f.database()
	workspace := f.String("workspace", "", "name of the workspace to create (required)")
	email := f.String("email", "", "e-mail of its owner (required)")
	password := f.String("password", "", "password of its owner (required; 8+ characters, letters and digits or symbols)")
	name := f.String("name", "", "owner's first name")
	lastName := f.String("last-name", "", "owner's last name")
	if err := f.parse(args); err != nil || helpAsked(args) {
		return err
	}
	var missing []string
	for _, m := range []struct{ flag, v string }{{"--workspace", *workspace}, {"--email", *email}, {"--password", *password}} {
		if m.v == "" {
			missing = append(missing, m.flag)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("bootstrap: %s required", strings.Join(missing, ", "))
	}
	db, err := openDB(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	b, err := db.Bootstrap(ctx, *workspace, plaza.UserCreate{Email: *email, Password: *password, Name: *name, LastName: *lastName})
	if plaza.ErrorCode(err) == plaza.EINTERNAL {
		return fmt.Errorf("bootstrap: %w", err) // the operator needs the cause
	} else if err != nil {
		return fmt.Errorf("bootstrap: %s", plaza.ErrorMessage(err))
	}
	return json.NewEncoder(stdout).Encode(b)
}

func helpAsked(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
	}
	return false
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	f := newFlags("serve", getenv, stderr)
	addr := f.string("addr", "PLAZA_ADDR", ":8080", "address to listen on")
	dsn := f.database()
	secretKey := f.string("secret-key", "PLAZA_SECRET_KEY", "", "secret that signs login tokens and encrypts stored secrets, 32+ characters; generated and kept in the database when absent")
	allowSignup := f.bool("allow-signup", "PLAZA_ALLOW_SIGNUP", "let POST /api/user without credentials create a user with a workspace of their own")
	smtpURL := f.string("smtp-url", "PLAZA_SMTP_URL", "", "SMTP server for e-mails, smtp://user:pass@host:587 or smtps://...; when absent, reset codes are logged")
	smtpFrom := f.string("smtp-from", "PLAZA_SMTP_FROM", "", "From address of e-mails")
	logLevel := f.string("log-level", "PLAZA_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	shutdown := f.duration("shutdown-timeout", "PLAZA_SHUTDOWN_TIMEOUT", 30*time.Second, "how long to let in-flight requests finish on SIGTERM")
	fetchAllow := f.string("fetch-allow", "PLAZA_FETCH_ALLOW", "", "comma-separated hosts and CIDR prefixes of private addresses that forwarding webhooks, knowledge file URLs, agents' services and workspaces' LLMs may call")
	publicURL := f.string("public-url", "PLAZA_PUBLIC_URL", "", "the server's URL as browsers reach it, for the agents' widget script (default: the scheme and host each request came to)")
	llmBaseURL := f.string("llm-base-url", "PLAZA_LLM_BASE_URL", "", "root of an OpenAI-compatible chat-completions API (e.g. https://api.openai.com/v1, http://localhost:11434/v1 for Ollama); without it agents answer from their knowledge only")
	llmAPIKey := f.string("llm-api-key", "PLAZA_LLM_API_KEY", "", "API key of the LLM endpoint (PLAZA_LLM_API_KEY_FILE reads it from a file)")
	llmModel := f.string("llm-model", "PLAZA_LLM_MODEL", "", "model the agents use, e.g. gpt-4o-mini; required with --llm-base-url")
	agentDebounce := f.duration("agent-debounce", "PLAZA_AGENT_DEBOUNCE", plaza.DefaultAgentDebounce, "how long an AI agent waits after a customer's first message before it answers: the messages of a burst are answered in one turn")
	graphURL := f.string("whatsapp-graph-url", "PLAZA_WHATSAPP_GRAPH_URL", whatsapp.DefaultBaseURL, "root of Meta's Graph API, with its version")
	var outboxCfg messaging.OutboxConfig
	f.DurationVar(&outboxCfg.Wait, "whatsapp-send-wait", messaging.DefaultSendWait,
		f.fromEnv("whatsapp-send-wait", "PLAZA_WHATSAPP_SEND_WAIT", "how long POST /api/message waits for Meta's answer before answering with the message queued"))
	f.DurationVar(&outboxCfg.CallTimeout, "whatsapp-send-timeout", messaging.DefaultCallTimeout,
		f.fromEnv("whatsapp-send-timeout", "PLAZA_WHATSAPP_SEND_TIMEOUT", "how long one send waits for Meta's answer"))
	f.DurationVar(&outboxCfg.ReconcileAfter, "whatsapp-reconcile-after", messaging.DefaultReconcileAfter,
		f.fromEnv("whatsapp-reconcile-after", "PLAZA_WHATSAPP_RECONCILE_AFTER", "how long a send whose answer from Meta was lost (a crash, a timeout) waits for a status webhook naming it before it is sent again; longer than --whatsapp-send-timeout"))
	f.Float64Var(&outboxCfg.RatePerNumber, "whatsapp-rate", messaging.DefaultRatePerNumber,
		f.fromEnv("whatsapp-rate", "PLAZA_WHATSAPP_RATE", "messages per second each WhatsApp number sends from this process; with N replicas set it to Meta's limit divided by N"))
	webchatLimits := plaza.DefaultWebchatLimits
	f.IntVar(&webchatLimits.Sessions, "webchat-sessions-per-hour", webchatLimits.Sessions,
		f.fromEnv("webchat-sessions-per-hour", "PLAZA_WEBCHAT_SESSIONS_PER_HOUR", "web chat sessions a client address may start per hour; 0 for no limit"))
	f.IntVar(&webchatLimits.Messages, "webchat-messages-per-minute", webchatLimits.Messages,
		f.fromEnv("webchat-messages-per-minute", "PLAZA_WEBCHAT_MESSAGES_PER_MINUTE", "web chat messages a client address may post per minute; 0 for no limit"))
	if err := f.parse(args); err != nil || helpAsked(args) {
		return err
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	// Settings are checked before the database is touched.
	key := *secretKey
	if key != "" && len(key) < plaza.MinSecretKeyLength {
		return fmt.Errorf("--secret-key must be at least %d characters long", plaza.MinSecretKeyLength)
	}
	if u, err := url.Parse(*graphURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--whatsapp-graph-url must be an http(s) URL, not %q", *graphURL)
	}
	if err := outboxCfg.Validate(); err != nil {
		return err
	}
	var llmClient *llm.Client
	if *llmBaseURL != "" {
		if u, err := url.Parse(*llmBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--llm-base-url must be an http(s) URL, not %q", *llmBaseURL)
		}
		if *llmModel == "" {
			return fmt.Errorf("--llm-model is required with --llm-base-url")
		}
		llmClient = &llm.Client{BaseURL: *llmBaseURL, APIKey: *llmAPIKey, Model: *llmModel}
	}
	if *publicURL != "" {
		if u, err := url.Parse(*publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--public-url must be an http(s) URL, not %q", *publicURL)
		}
	}
	var mailer plaza.Mailer = mail.Log{Logger: logger}
	if *smtpURL != "" {
		var err error
		if mailer, err = mail.NewSMTP(*smtpURL, *smtpFrom); err != nil {
			return err
		}
	}

	db, err := openDB(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()

	if key == "" {
		var generated bool
		if key, generated, err = db.SecretKey(ctx); err != nil {
			return fmt.Errorf("secret key: %w", err)
		}
		if generated {
			logger.Warn("no --secret-key given: generated one and stored it in the database; set PLAZA_SECRET_KEY to manage it yourself")
		}
	}
	async := &mail.Async{Mailer: mailer, Logger: logger}
	defer async.Wait()

	// The durable job queue and its workers. Started here, it is stopped on
	// the way out, after the HTTP server (the deferred stop runs before the
	// database closes): running jobs get the shutdown timeout to finish,
	// and any cut short run again after a restart.
	numbers := sqldb.NewWhatsAppNumberService(db, key)
	inbox := sqldb.NewWhatsAppInbox(db)
	workers := river.NewWorkers()
	graph := &whatsapp.Client{BaseURL: *graphURL}
	outbox, err := messaging.NewOutbox(sqldb.NewOutboundService(db), numbers, graph, outboxCfg, logger)
	if err != nil {
		return err
	}
	outbox.AddWorkers(workers)
	messaging.AddLegacyInboxJobWorker(workers)
	messaging.AddCampaignWorker(workers, &messaging.CampaignWorker{Store: sqldb.NewOutboundService(db), Logger: logger})
	guard, err := messaging.ParseFetchAllow(*fetchAllow)
	if err != nil {
		return err
	}
	webhooks := sqldb.NewWebhookService(db, key, guard.CheckURL)
	messaging.AddForwardWorker(workers, &messaging.ForwardWorker{Store: webhooks, Client: guard.HTTPClient(), Logger: logger})
	// Agents' knowledge files: fetched through the same guard, indexed on
	// the queue.
	knowledgeFiles := sqldb.NewKnowledgeService(db, guard.CheckURL)
	knowledge.AddWorker(workers, &knowledge.Worker{Store: knowledgeFiles, Client: guard.HTTPClient(), Logger: logger})
	// AI agents: the turn engine, on the CRM services, acting as the
	// agent. A customer's message the bot answers queues a turn.
	agentStore := sqldb.NewAgentService(db)
	automations := sqldb.NewAutomationService(db, key)
	llmSettings := sqldb.NewLLMSettingsService(db, key)
	handoffs := sqldb.NewHandoffService(db)
	agents := &agent.Runtime{LLM: llmClient, WorkspaceLLMs: llmSettings, Contacts: sqldb.NewContactService(db),
		Opportunities: sqldb.NewOpportunityService(db), Tasks: sqldb.NewTaskService(db), Masters: sqldb.NewMasterService(db),
		Pipelines: sqldb.NewPipelineService(db), Knowledge: agentStore, Handoffs: handoffs, Guard: guard, Logger: logger}
	turnMetrics := newTurnMetrics()
	turns := &agent.TurnWorker{Runtime: agents, Store: sqldb.NewAgentTurnService(db, automations), Logger: logger, Observe: turnMetrics.observe}
	if llmClient != nil {
		turns.NodeLLM = func(apiKey string) agent.Completer {
			return &llm.Client{BaseURL: llmClient.BaseURL, APIKey: apiKey, Model: llmClient.Model}
		}
	}
	agent.AddTurnWorker(workers, turns)
	db.EnableAgentTurns(*agentDebounce)
	queue, err := db.OpenQueue(sqldb.QueueConfig{Workers: workers, Logger: logger})
	if err != nil {
		return err
	}
	// Not ctx: its cancellation (SIGTERM) would cut running jobs at once.
	if err := queue.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	defer func() {
		qctx, cancel := context.WithTimeout(context.Background(), *shutdown)
		defer cancel()
		if err := queue.Stop(qctx); err != nil {
			logger.Error("job queue: stop", "error", err.Error())
		}
	}()
	// Send jobs of a process that died are taken over (stopped before the
	// queue, by the defers' order).
	rctx, stopRecovery := context.WithCancel(context.WithoutCancel(ctx))
	recovery := make(chan struct{})
	go func() { defer close(recovery); outbox.RecoverSends(rctx) }()
	defer func() { stopRecovery(); <-recovery }()

	// Events: one broker per process reads what every replica commits.
	events := sqldb.NewEventBroker(db, logger)
	if err := events.Start(ctx); err != nil {
		return err
	}
	defer events.Stop()
	// The drainer of the webhook's inbox; stopped before the queue and the
	// database (the defers' order), after the HTTP server stops storing.
	inbox.Logger = logger
	drainer := &messaging.Drainer{Inbox: inbox, Logger: logger, Workers: messaging.DrainWorkers(string(db.Dialect)),
		Worker: &messaging.InboxWorker{Numbers: numbers, Store: sqldb.NewInboundStore(db), Logger: logger}}
	dctx, stopDrainer := context.WithCancel(context.WithoutCancel(ctx))
	drained := make(chan struct{})
	go func() { defer close(drained); drainer.Run(dctx) }()
	defer func() { stopDrainer(); <-drained }()

	auth := sqldb.NewAuthService(db, key)
	srv := api.NewServer(key)
	srv.Events = events
	srv.WhatsAppNumbers = numbers
	srv.WhatsAppInbox = inbox
	srv.Webhooks = webhooks
	srv.Conversations = sqldb.NewConversationService(db)
	webchat := sqldb.NewWebchatService(db, key)
	webchat.Limits = webchatLimits
	srv.Webchat = webchat
	srv.Outbound = outbox
	srv.Media = &messaging.Media{Store: sqldb.NewMediaStore(db), Numbers: numbers, Graph: graph, Outbox: outbox}
	srv.Agents = agentStore
	srv.Knowledge = knowledgeFiles
	srv.PublicURL = *publicURL
	srv.Campaigns = sqldb.NewCampaignService(db)
	srv.Templates = &messaging.Templates{Store: sqldb.NewTemplateStore(db), Numbers: numbers, Graph: graph}
	srv.Users = sqldb.NewUserService(db, auth, async)
	srv.Workspaces = sqldb.NewWorkspaceService(db)
	srv.Opportunities = sqldb.NewOpportunityService(db)
	srv.Pipelines = sqldb.NewPipelineService(db)
	srv.History = sqldb.NewHistoryService(db)
	srv.Contacts = sqldb.NewContactService(db)
	srv.Auth = auth
	srv.Tasks = sqldb.NewTaskService(db)
	srv.Masters = sqldb.NewMasterService(db)
	srv.Automations = automations
	srv.FetchGuard = guard
	srv.LLMSettings = llmSettings
	srv.Handoffs = handoffs
	if err := srv.RegisterMetrics(turnMetrics.turns, turnMetrics.seconds); err != nil {
		return err
	}
	srv.AgentChat = &agent.Chat{Runtime: agents, Sessions: sqldb.NewAgentSessionStore(db), Agents: agentStore}
	srv.Idempotency = sqldb.NewIdempotencyStore(db)
	srv.Ready = db.Ping
	srv.Logger = logger
	srv.AllowSignup = *allowSignup
	srv.Version = plazaVersion()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Event streams never finish on their own: Shutdown ends them.
	httpServer.RegisterOnShutdown(srv.CloseStreams)
	logger.Info("listening", "addr", ln.Addr().String(), "version", srv.Version, "database", string(db.Dialect))
	errc := make(chan error, 1)
	go func() { errc <- httpServer.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", shutdown.String())
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	if err := httpServer.Shutdown(sctx); err != nil {
		// Cut the requests still running before the database closes.
		httpServer.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// turnMetrics are the agents' turns on GET /metrics.
type turnMetrics struct {
	turns   *prometheus.CounterVec
	seconds *prometheus.HistogramVec
}

func newTurnMetrics() *turnMetrics {
	return &turnMetrics{
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plaza_agent_turns_total", Help: "AI agents' turns by channel and whether they replied.",
		}, []string{"channel", "replied"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "plaza_agent_turn_seconds", Help: "AI agents' turns from the job's start to the reply committed (part total), and without the time waiting for the LLM (part plaza).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"part"}),
	}
}

func (m *turnMetrics) observe(s agent.TurnStats) {
	m.turns.WithLabelValues(s.Channel, strconv.FormatBool(s.Replied)).Inc()
	m.seconds.WithLabelValues("total").Observe(s.Total.Seconds())
	m.seconds.WithLabelValues("plaza").Observe((s.Total - s.LLM).Seconds())
}
