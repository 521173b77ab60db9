package sqldb

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/phone"
)

// WhatsAppNumberService implements plaza.WhatsAppNumberService. Access
// tokens and app secrets are sealed with the server's secret key.
type WhatsAppNumberService struct {
	db  *DB
	box secretBox

	// secrets caches WhatsAppAppSecrets for a moment: every webhook
	// delivery needs them, and they change only when numbers are connected
	// or disconnected (which clears the cache in this process; another
	// replica sees the change within secretsTTL).
	mu         sync.Mutex
	secrets    []plaza.WhatsAppCredentials
	secretsAt  time.Time
	secretsTTL time.Duration
}

// NewWhatsAppNumberService returns the service of db; secretKey seals the
// numbers' secrets.
func NewWhatsAppNumberService(db *DB, secretKey string) *WhatsAppNumberService {
	return &WhatsAppNumberService{db: db, box: newSecretBox(secretKey), secretsTTL: 2 * time.Second}
}

var _ plaza.WhatsAppNumberService = (*WhatsAppNumberService)(nil)

// where names the place a number's secret is sealed for.
func secretPlace(column, workspaceID, id string) string {
	return "whatsapp_numbers." + column + ":" + workspaceID + ":" + id
}

// CreateWhatsAppNumber connects a number to the caller's workspace.
func (s *WhatsAppNumberService) CreateWhatsAppNumber(ctx context.Context, in plaza.WhatsAppNumberCreate) (*plaza.WhatsAppNumber, error) {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	display, err := phone.Normalize(in.DisplayPhoneNumber)
	if err != nil {
		return nil, plaza.Invalid(plaza.FieldError{Field: "displayPhoneNumber", Message: "displayPhoneNumber " + err.Error()})
	}
	n := &plaza.WhatsAppNumber{ID: newID(), WorkspaceID: p.WorkspaceID, PhoneNumberID: in.PhoneNumberID, WabaID: in.WabaID,
		DisplayPhoneNumber: display.Digits}
	err = s.db.inTx(ctx, func(tx *Tx) error {
		n.CreationDate = plaza.NewTime(tx.now)
		_, err := tx.ExecContext(ctx, `INSERT INTO whatsapp_numbers (workspace_id, id, phone_number_id, waba_id,
			display_phone_number, display_digits, access_token, app_secret, verify_token_hash, creation_date)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			n.WorkspaceID, n.ID, n.PhoneNumberID, n.WabaID, n.DisplayPhoneNumber, display.Digits,
			s.box.seal(in.AccessToken, secretPlace("access_token", n.WorkspaceID, n.ID)),
			s.box.seal(in.AppSecret, secretPlace("app_secret", n.WorkspaceID, n.ID)),
			sha256Hex(in.VerifyToken), tx.now)
		if isUnique(err) {
			return &plaza.Error{Code: plaza.ECONFLICT, Message: "This WhatsApp number is already connected.",
				Fields: []plaza.FieldError{{Field: "phoneNumberId", Message: "phoneNumberId is already connected."}}}
		}
		if err != nil {
			return fmt.Errorf("insert whatsapp number: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.forgetSecrets()
	return n, nil
}

const whatsappNumberColumns = `workspace_id, id, phone_number_id, waba_id, display_phone_number, creation_date`

func scanWhatsAppNumber(row scanner, extra ...any) (*plaza.WhatsAppNumber, error) {
	var n plaza.WhatsAppNumber
	var created sqlTime
	dest := append([]any{&n.WorkspaceID, &n.ID, &n.PhoneNumberID, &n.WabaID, &n.DisplayPhoneNumber, &created}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	n.CreationDate = created.plaza()
	return &n, nil
}

// FindWhatsAppNumbers lists the caller's numbers.
func (s *WhatsAppNumberService) FindWhatsAppNumbers(ctx context.Context) ([]plaza.WhatsAppNumber, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	scan := func(row scanner) (*plaza.WhatsAppNumber, error) { return scanWhatsAppNumber(row) }
	return queryAll(ctx, s.db.read, scan, `SELECT `+whatsappNumberColumns+` FROM whatsapp_numbers
		WHERE workspace_id = $1 ORDER BY id`, p.WorkspaceID)
}

// DeleteWhatsAppNumber disconnects a number; its conversations stay,
// no longer tied to it.
func (s *WhatsAppNumberService) DeleteWhatsAppNumber(ctx context.Context, id string) error {
	p, err := plaza.RequireManager(ctx)
	if err != nil {
		return err
	}
	defer s.forgetSecrets()
	return s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET whatsapp_number_id = NULL
			WHERE workspace_id = $1 AND whatsapp_number_id = $2`, p.WorkspaceID, id); err != nil {
			return err
		}
		// Its forwarding webhook goes with it, and what it had pending.
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE workspace_id = $1 AND whatsapp_number_id = $2`,
			p.WorkspaceID, id); err != nil {
			return err
		}
		if err := tx.cancelEndpointDeliveries(ctx, p.WorkspaceID, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM whatsapp_numbers WHERE workspace_id = $1 AND id = $2`, p.WorkspaceID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return plaza.Errorf(plaza.ENOTFOUND, "WhatsApp number not found.")
		}
		return nil
	})
}

// open returns the number with its secrets opened.
func (s *WhatsAppNumberService) open(n *plaza.WhatsAppNumber, token, secret string) (*plaza.WhatsAppCredentials, error) {
	c := &plaza.WhatsAppCredentials{WhatsAppNumber: *n}
	var err error
	if c.AccessToken, err = s.box.open(token, secretPlace("access_token", n.WorkspaceID, n.ID)); err != nil {
		return nil, err
	}
	if c.AppSecret, err = s.box.open(secret, secretPlace("app_secret", n.WorkspaceID, n.ID)); err != nil {
		return nil, err
	}
	return c, nil
}

// WhatsAppCredentialsByPhoneNumberID finds a number by Meta's id.
func (s *WhatsAppNumberService) WhatsAppCredentialsByPhoneNumberID(ctx context.Context, phoneNumberID string) (*plaza.WhatsAppCredentials, error) {
	var token, secret string
	n, err := scanWhatsAppNumber(s.db.read.QueryRowContext(ctx, `SELECT `+whatsappNumberColumns+`, access_token, app_secret
		FROM whatsapp_numbers WHERE phone_number_id = $1`, phoneNumberID), &token, &secret)
	if err != nil {
		if err = normalize(err); plaza.ErrorCode(err) == plaza.ENOTFOUND {
			return nil, plaza.Errorf(plaza.ENOTFOUND, "No connected WhatsApp number has phone number id %s.", phoneNumberID)
		}
		return nil, err
	}
	return s.open(n, token, secret)
}

// WhatsAppAppSecrets lists every connected number with its secrets.
func (s *WhatsAppNumberService) WhatsAppAppSecrets(ctx context.Context) ([]plaza.WhatsAppCredentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets != nil && time.Since(s.secretsAt) < s.secretsTTL {
		return s.secrets, nil
	}
	all, err := s.loadAppSecrets(ctx)
	if err != nil {
		return nil, err
	}
	s.secrets, s.secretsAt = all, time.Now()
	return all, nil
}

// forgetSecrets drops the cache after this process changed the numbers.
func (s *WhatsAppNumberService) forgetSecrets() {
	s.mu.Lock()
	s.secrets = nil
	s.mu.Unlock()
}

func (s *WhatsAppNumberService) loadAppSecrets(ctx context.Context) ([]plaza.WhatsAppCredentials, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+whatsappNumberColumns+`, access_token, app_secret FROM whatsapp_numbers ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	all := []plaza.WhatsAppCredentials{}
	for rows.Next() {
		var token, secret string
		n, err := scanWhatsAppNumber(rows, &token, &secret)
		if err != nil {
			return nil, err
		}
		c, err := s.open(n, token, secret)
		if err != nil {
			return nil, err
		}
		all = append(all, *c)
	}
	return all, rows.Err()
}

// WhatsAppVerifyTokenExists reports whether a number has this verify
// token. Tokens are compared by their SHA-256, so the comparison leaks
// nothing about a token's characters.
func (s *WhatsAppNumberService) WhatsAppVerifyTokenExists(ctx context.Context, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	var n int
	err := s.db.read.QueryRowContext(ctx, `SELECT count(*) FROM whatsapp_numbers WHERE verify_token_hash = $1`, sha256Hex(token)).Scan(&n)
	return n > 0, err
}
