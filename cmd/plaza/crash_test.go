package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// The crash test: `plaza serve` is killed (SIGKILL) between accepting a
// send and recording Meta's answer, started again on the same database,
// and Meta receives the message exactly once. Plaza runs as a real
// process, built from this package; Meta is a local Graph API server
// that also delivers the status webhooks, as Meta does.

const (
	crashNumberID  = "100200300400501" // the fixtures' phone number id
	crashWabaID    = "100200300400500"
	crashAppSecret = "app-secret-of-the-crash-test"
	crashToken     = "EAAG-crash-token"
)

var (
	plazaBinOnce sync.Once
	plazaBin     string
	plazaBinErr  error
)

// buildPlaza builds the plaza binary once for the tests of this run.
func buildPlaza(t *testing.T) string {
	t.Helper()
	plazaBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "plaza-crash-test-")
		if err != nil {
			plazaBinErr = err
			return
		}
		plazaBin = filepath.Join(dir, "plaza")
		out, err := exec.Command("go", "build", "-o", plazaBin, ".").CombinedOutput()
		if err != nil {
			plazaBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if plazaBinErr != nil {
		t.Fatal(plazaBinErr)
	}
	return plazaBin
}

// process is a `plaza serve` running as a child process.
type process struct {
	*server
	cmd  *exec.Cmd
	logs *syncBuffer
	exit chan error
}

// startPlaza runs `plaza serve` on dsn with Meta at graphURL and waits
// until it listens. The reconcile window and the send timeout are short,
// so a lost send is retried within seconds.
func startPlaza(t *testing.T, dsn, graphURL string) *process {
	t.Helper()
	cmd := exec.Command(buildPlaza(t), "serve", "--addr", "127.0.0.1:0", "--database", dsn, "--secret-key", testKey,
		"--whatsapp-graph-url", graphURL, "--whatsapp-send-wait", "100ms", "--whatsapp-send-timeout", "1s",
		"--whatsapp-reconcile-after", "2s")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PLAZA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{server: &server{}, cmd: cmd, logs: &syncBuffer{}, exit: make(chan error, 1)}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			p.logs.Write(append(line, '\n'))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
				listening <- rec.Addr
			}
		}
		p.exit <- cmd.Wait()
	}()
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			t.Logf("plaza serve (pid %d) logged:\n%s", cmd.Process.Pid, p.logs.String())
		}
	})
	select {
	case addr := <-listening:
		p.URL = "http://" + addr
	case err := <-p.exit:
		p.exit <- err
		t.Fatalf("plaza serve ended before listening: %v\n%s", err, p.logs.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("plaza serve did not listen within three minutes:\n%s", p.logs.String())
	}
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill(t *testing.T) {
	t.Helper()
	p.cmd.Process.Kill()
	select {
	case err := <-p.exit:
		p.exit <- err
	case <-time.After(30 * time.Second):
		t.Fatal("plaza serve did not die")
	}
}

// meta is the local Graph API. Each send is passed to onSend, which
// answers it (or not); the WABA's templates are listed as the fixture
// lists them. Like Meta, it can deliver a status webhook for every send it
// accepted (see deliverStatuses).
type meta struct {
	t      *testing.T
	URL    string
	onSend func(w http.ResponseWriter, r *http.Request)

	mu       sync.Mutex
	accepted []map[string]any // the sends Meta read and accepted
	statuses statusQueue
}

func newMeta(t *testing.T, onSend func(w http.ResponseWriter, r *http.Request)) *meta {
	m := &meta{t: t, onSend: onSend}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+crashToken {
			t.Errorf("Meta got %s %s with %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		switch {
		case r.Method == "POST" && r.URL.Path == "/v23.0/"+crashNumberID+"/messages":
			m.onSend(w, r)
		case r.Method == "GET" && r.URL.Path == "/v23.0/"+crashWabaID+"/message_templates":
			m.listTemplates(w, r)
		default:
			t.Errorf("Meta got %s %s", r.Method, r.URL.Path)
			http.Error(w, "unexpected request", http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	m.URL = srv.URL + "/v23.0"
	return m
}

// listTemplates answers the fixture's template list in two pages: its
// first template, then, asked with the fixture's after cursor, the rest.
func (m *meta) listTemplates(w http.ResponseWriter, r *http.Request) {
	var list map[string]any
	if err := json.Unmarshal(crashFixture(m.t, "send/message_templates_list_response.json"), &list); err != nil {
		m.t.Error(err)
		return
	}
	data := list["data"].([]any)
	if r.URL.Query().Get("after") == "QVFIUTESTafterCursor" {
		list = map[string]any{"data": data[1:]}
	} else {
		list["data"] = data[:1]
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(list)
}

// accept reads a send and keeps it as accepted; it returns its body.
func (m *meta) accept(r *http.Request) map[string]any {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		m.t.Errorf("send body: %v", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.accepted = append(m.accepted, body)
	return body
}

func (m *meta) sends() []map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]map[string]any(nil), m.accepted...)
}

// success answers an accepted send as Meta does.
func success(t *testing.T, w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(crashFixture(t, "send/response_success.json"))
}

// successWamid answers an accepted send as Meta does, naming the message
// wamid.
func successWamid(t *testing.T, w http.ResponseWriter, wamid string) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(bytes.ReplaceAll(crashFixture(t, "send/response_success.json"), []byte("wamid.TEST_OUT_0001"), []byte(wamid)))
}

// statusQueue holds the status webhooks Meta owes Plaza: Meta delivers
// them to whichever Plaza is up, and retries a delivery that fails (Plaza
// dead, or not yet listening) until one is taken.
type statusQueue struct {
	pending [][]byte
	to      string // Plaza's URL; "" while it is down
}

// sentStatus queues the "sent" status webhook of an accepted send: wamid
// is Meta's id, body the send (its recipient and callback data).
func (m *meta) sentStatus(body map[string]any, wamid string) {
	status := crashFixture(m.t, "status/sent.json")
	status = bytes.ReplaceAll(status, []byte("wamid.TEST_OUT_0001"), []byte(wamid))
	status = bytes.ReplaceAll(status, []byte(`"recipient_id": "15557654321"`), fmt.Appendf(nil, `"recipient_id": %q`, body["to"]))
	status = bytes.ReplaceAll(status, []byte(`"plaza:outbox:01JDTEST0000000000000000001"`),
		fmt.Appendf(nil, "%q", body["biz_opaque_callback_data"]))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.statuses.pending = append(m.statuses.pending, status)
}

// deliverTo points the status webhooks at p (nil: Plaza is down).
func (m *meta) deliverTo(p *process) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.statuses.to = ""
	if p != nil {
		m.statuses.to = p.URL
	}
}

// deliverStatuses delivers the queued status webhooks, signed as Meta
// signs them, until the test ends.
func (m *meta) deliverStatuses() {
	stop := make(chan struct{})
	done := make(chan struct{})
	m.t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		for {
			m.mu.Lock()
			to, pending := m.statuses.to, m.statuses.pending
			m.mu.Unlock()
			delivered := 0
			if to != "" {
				for _, body := range pending {
					if postWebhook(to, body) != nil {
						break
					}
					delivered++
				}
			}
			m.mu.Lock()
			m.statuses.pending = m.statuses.pending[delivered:]
			m.mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
}

func crashFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "whatsapp", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postWebhook posts a webhook delivery to the Plaza at url, signed as Meta
// signs it.
func postWebhook(url string, body []byte) error {
	mac := hmac.New(sha256.New, []byte(crashAppSecret))
	mac.Write(body)
	req, _ := http.NewRequest("POST", url+"/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("webhook delivery: %d", resp.StatusCode)
	}
	return nil
}

// deliver posts a webhook delivery to plaza, signed as Meta signs it.
func deliver(t *testing.T, p *process, body []byte) {
	t.Helper()
	if err := postWebhook(p.URL, body); err != nil {
		t.Fatal(err)
	}
}

// queryInt runs a count on the database behind Plaza's back.
func queryInt(t *testing.T, dsn, query string, args ...any) int {
	t.Helper()
	driver, name := "pgx", dsn
	if file, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, name = "sqlite", file
	}
	db, err := sql.Open(driver, name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitFor polls cond until it holds, failing after three minutes: a
// bound on a hung test, generous because a loaded CI machine is slow, not
// a measure of speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within three minutes", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// crashSend is a kind of send the crash test kills Plaza in the middle
// of.
type crashSend struct {
	name string
	// prepare makes the send possible (a window open, templates synced).
	prepare func(t *testing.T, p *process, b bootstrapped, dsn string)
	// send makes the send through the API and returns the message's id.
	send func(t *testing.T, p *process, b bootstrapped) string
	// request is the fixture of the request Meta must receive, less its
	// callback data.
	request string
}

var crashSends = []crashSend{
	{name: "text", prepare: openWindow, send: sendText, request: "send/request_text.json"},
	{name: "template", prepare: syncTemplates, send: sendTemplate,
		request: "send/request_template_with_header_image_and_body_params.json"},
}

// openWindow has Lucía write, which opens her 24-hour window.
func openWindow(t *testing.T, p *process, b bootstrapped, dsn string) {
	t.Helper()
	inbound := bytes.ReplaceAll(crashFixture(t, "inbound/text.json"), []byte(`"1795791600"`), fmt.Appendf(nil, `"%d"`, time.Now().Unix()))
	deliver(t, p, inbound)
	waitFor(t, "the inbound message opens the window", func() bool {
		return queryInt(t, dsn, `SELECT count(*) FROM conversations WHERE window_expires_at IS NOT NULL`) == 1
	})
}

// syncTemplates copies the WABA's templates (the fixture's, approved) into
// the workspace.
func syncTemplates(t *testing.T, p *process, b bootstrapped, dsn string) {
	t.Helper()
	p.mustCall(t, 200, "POST", "/api/template/sync", b.APIKey, "", map[string]any{"workspaceId": b.WorkspaceID})
	if n := queryInt(t, dsn, `SELECT count(*) FROM whatsapp_templates WHERE status = 'APPROVED'`); n != 2 {
		t.Fatalf("%d approved templates synced, want the fixture's 2", n)
	}
}

// sendText sends the text of request_text.json (Send Message); the
// request is answered before Meta's answer is.
func sendText(t *testing.T, p *process, b bootstrapped) string {
	t.Helper()
	reply := "¡Hola Lucía! Sí, el sofá Oslo está disponible en azul. ¿Te reservo uno?"
	env := p.mustCall(t, 200, "POST", "/api/message", b.APIKey, "", map[string]any{
		"workspaceId": b.WorkspaceID, "recipientPhone": "+1 555 765 4321", "content": reply})
	var sent struct {
		Message struct {
			ID                string
			MessageWhatsappID *string
			Status            string
		}
	}
	if err := json.Unmarshal(env.Data, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Message.MessageWhatsappID != nil || sent.Message.Status != "queued" {
		t.Fatalf("the send answered %+v before Meta did", sent.Message)
	}
	return sent.Message.ID
}

// sendTemplate sends the template of
// request_template_with_header_image_and_body_params.json (Send
// Conversation).
func sendTemplate(t *testing.T, p *process, b bootstrapped) string {
	t.Helper()
	env := p.mustCall(t, 200, "POST", "/api/message/conversation", b.APIKey, "", map[string]any{
		"workspaceId": b.WorkspaceID, "template": "reservation_confirmation", "destination": "+1 555 765 4321",
		"variablesBody": []any{
			map[string]any{"variable": "first_name", "value": "Lucía"},
			map[string]any{"variable": "store", "value": "Miraflores"},
			map[string]any{"variable": "{{date}}", "value": "sábado 28 de noviembre"},
			map[string]any{"variable": "time", "value": "10:00"},
		},
		"file": map[string]any{"fileUrl": "https://cdn.example.com/plaza/tiendas/miraflores.jpg", "fileName": "miraflores.jpg"}})
	var sent struct{ MessageID string }
	if err := json.Unmarshal(env.Data, &sent); err != nil || sent.MessageID == "" {
		t.Fatalf("send conversation answered %s (%v)", env.Data, err)
	}
	return sent.MessageID
}

func TestCrashBetweenSendAndAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills plaza serve")
	}
	t.Parallel()
	buildPlaza(t)
	for _, send := range crashSends {
		for _, tc := range []struct {
			name string
			// metaGotIt: Meta read and accepted the send before Plaza died
			// (its answer was lost). Else the connection reached Meta's edge
			// but the request was never read.
			metaGotIt bool
		}{
			{"meta-accepted-answer-lost", true},
			{"meta-never-read-it", false},
		} {
			t.Run(send.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				sqldbtest.Each(t, func(t *testing.T, dsn string) {
					t.Parallel()
					start := time.Now()
					crashAndRestart(t, dsn, send, tc.metaGotIt)
					t.Logf("killed and restarted in %v", time.Since(start).Round(time.Millisecond))
				})
			})
		}
	}
}

func crashAndRestart(t *testing.T, dsn string, send crashSend, metaGotIt bool) {
	b := mustBootstrap(t, dsn, "Acme", "owner@example.com")

	// Meta: the first send reaches it and is held until Plaza is dead;
	// every later one is accepted and answered.
	reached := make(chan map[string]any, 1)
	dead := make(chan struct{})
	var first sync.Once
	var m *meta
	m = newMeta(t, func(w http.ResponseWriter, r *http.Request) {
		isFirst := false
		first.Do(func() { isFirst = true })
		if !isFirst {
			m.accept(r)
			success(t, w)
			return
		}
		if !metaGotIt {
			// The connection is cut before the request is read.
			reached <- nil
			<-dead
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		reached <- m.accept(r)
		<-dead
		success(t, w) // to a process that is gone
	})

	p := startPlaza(t, dsn, m.URL)
	p.mustCall(t, 200, "POST", "/api/workspace/"+b.WorkspaceID+"/whatsapp/numbers", b.APIKey, "", map[string]any{
		"phoneNumberId": crashNumberID, "wabaId": crashWabaID, "displayPhoneNumber": "15550001234",
		"accessToken": crashToken, "appSecret": crashAppSecret, "verifyToken": "crash-test-verify"})
	send.prepare(t, p, b, dsn)
	id := send.send(t, p, b)

	// Meta has the request in hand: Plaza dies before it has the answer.
	var body map[string]any
	select {
	case body = <-reached:
	case <-time.After(3 * time.Minute):
		t.Fatal("the send did not reach Meta within three minutes")
	}
	p.kill(t)
	close(dead)
	if n := queryInt(t, dsn, `SELECT count(*) FROM messages WHERE id = $1 AND send_state = 'sending' AND wamid IS NULL`, id); n != 1 {
		t.Fatal("the message is not left sending")
	}

	p = startPlaza(t, dsn, m.URL)
	if metaGotIt {
		// Meta's status webhook names the message by the callback data
		// it was sent with.
		if body["biz_opaque_callback_data"] != "plaza:outbox:"+id {
			t.Fatalf("the send carried callback data %v", body["biz_opaque_callback_data"])
		}
		status := bytes.ReplaceAll(crashFixture(t, "status/sent.json"), []byte("plaza:outbox:01JDTEST0000000000000000001"),
			[]byte("plaza:outbox:"+id))
		deliver(t, p, status)
	}

	waitFor(t, "the message is sent", func() bool {
		return queryInt(t, dsn, `SELECT count(*) FROM messages WHERE id = $1 AND send_state = 'sent'
			AND wamid = 'wamid.TEST_OUT_0001' AND status = 'sent'`, id) == 1
	})
	// The dead process's job (left running) is taken over by another,
	// and that one is done: nothing is left that could send again.
	waitFor(t, "the send job of the dead process is taken over and done", func() bool {
		return queryInt(t, dsn, `SELECT count(*) FROM river_job WHERE kind = 'whatsapp_send' AND state = 'completed'`) == 1 &&
			queryInt(t, dsn, `SELECT count(*) FROM river_job WHERE kind = 'whatsapp_send'
				AND state NOT IN ('completed', 'cancelled', 'discarded', 'running')`) == 0
	})

	sends := m.sends()
	if len(sends) != 1 {
		t.Fatalf("Meta accepted %d sends of the message, want exactly 1", len(sends))
	}
	var want map[string]any
	if err := json.Unmarshal(crashFixture(t, send.request), &want); err != nil {
		t.Fatal(err)
	}
	want["biz_opaque_callback_data"] = "plaza:outbox:" + id
	if diff := cmp.Diff(want, sends[0]); diff != "" {
		t.Errorf("the send Meta accepted (-want +got):\n%s", diff)
	}
	p.kill(t)
}
