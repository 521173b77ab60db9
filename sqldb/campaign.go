package sqldb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/phone"
)

// campaignSpec is a campaign's send, checked and built when it was
// accepted: what queueTemplate needs for every destination.
type campaignSpec struct {
	Message       plaza.TemplateMessage `json:"message"`
	Content       string                `json:"content"`
	TemplateName  string                `json:"templateName"`
	TemplateType  string                `json:"templateType"`
	AnswerType    string                `json:"answerType"`
	NumberDisplay string                `json:"numberDisplay"`
	SendType      int                   `json:"sendType"`
	CampaignName  string                `json:"campaignName"`
	Reference1    string                `json:"reference1"`
	Reference2    string                `json:"reference2"`
	Reference3    string                `json:"reference3"`
	AgentSendedID string                `json:"agentSendedId"`
}

// campaignRowsPerInsert bounds a multi-row INSERT of destinations (4
// parameters a row, far under either database's limit).
const campaignRowsPerInsert = 500

// CampaignJobMaxAttempts is how many times a campaign's fan-out job runs
// before River gives up on it; each run resumes where the last stopped.
const CampaignJobMaxAttempts = 25

// storeCampaign stores the campaign, its destinations and its fan-out job
// in one transaction.
func (s *OutboundService) storeCampaign(ctx context.Context, ws string, number plaza.WhatsAppNumber, spec campaignSpec,
	recipients []phone.Number) (*plaza.ConversationSent, error) {
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	id := newID()
	err = s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO campaigns (workspace_id, id, name, template_name, whatsapp_number_id, spec,
			total, creation_date) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			ws, id, spec.CampaignName, spec.TemplateName, number.ID, string(specJSON), len(recipients), tx.now); err != nil {
			return fmt.Errorf("insert campaign: %w", err)
		}
		for start := 0; start < len(recipients); start += campaignRowsPerInsert {
			chunk := recipients[start:min(start+campaignRowsPerInsert, len(recipients))]
			var values []string
			args := make([]any, 0, 4*len(chunk))
			for i, r := range chunk {
				values = append(values, "("+placeholders(4*i+1, 4)+")")
				args = append(args, ws, id, start+i, r.E164)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO campaign_destinations (workspace_id, campaign_id, position, phone) VALUES `+
				strings.Join(values, ", "), args...); err != nil {
				return fmt.Errorf("insert campaign destinations: %w", err)
			}
		}
		return tx.enqueue(ctx, plaza.WhatsAppCampaignJob{WorkspaceID: ws, CampaignID: id},
			&river.InsertOpts{MaxAttempts: CampaignJobMaxAttempts})
	})
	if err != nil {
		return nil, err
	}
	return &plaza.ConversationSent{CampaignID: id, Total: len(recipients)}, nil
}

// FanOutWhatsAppCampaign implements plaza.CampaignFanOut: the next
// destinations without a message get one (contact, conversation, message
// and send job, as a small send does), and their message ids, in one
// transaction. A transaction cut short writes nothing, so the next run
// takes the same destinations again; runs at once take turns.
func (s *OutboundService) FanOutWhatsAppCampaign(ctx context.Context, ws, campaignID string, limit int) (bool, error) {
	var done bool
	err := s.db.inTx(ctx, func(tx *Tx) error {
		// The campaign's row is locked for the transaction, so two runs
		// (a job taken over while alive, see RecoverWhatsAppSends) take
		// turns: each reads the destinations the other left. SQLite's
		// write transactions already take turns.
		query := `SELECT spec, whatsapp_number_id FROM campaigns WHERE workspace_id = $1 AND id = $2`
		if tx.db.Dialect == Postgres {
			query += ` FOR UPDATE`
		}
		var specJSON, numberID string
		err := tx.QueryRowContext(ctx, query, ws, campaignID).Scan(&specJSON, &numberID)
		if err != nil {
			return normalize(err)
		}
		var spec campaignSpec
		if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
			return fmt.Errorf("campaign %s: spec: %w", campaignID, err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT position, phone FROM campaign_destinations
			WHERE workspace_id = $1 AND campaign_id = $2 AND message_id IS NULL ORDER BY position LIMIT $3`, ws, campaignID, limit+1)
		if err != nil {
			return err
		}
		type dest struct {
			position int
			phone    string
		}
		var dests []dest
		for rows.Next() {
			var d dest
			if err := rows.Scan(&d.position, &d.phone); err != nil {
				rows.Close()
				return err
			}
			dests = append(dests, d)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		dests, more := cutPage(dests, limit)
		number := plaza.WhatsAppNumber{ID: numberID, WorkspaceID: ws, DisplayPhoneNumber: spec.NumberDisplay}
		tpl := &plaza.Template{ElementName: spec.TemplateName}
		in := plaza.ConversationSend{SendType: plaza.SendType(spec.SendType), CampaignName: spec.CampaignName,
			Reference1: spec.Reference1, Reference2: spec.Reference2, Reference3: spec.Reference3, AgentSendedID: spec.AgentSendedID}
		for _, d := range dests {
			_, messageID, err := tx.queueTemplate(ctx, ws, number, d.phone, tpl, spec.Message, spec.Content, spec.TemplateType,
				spec.AnswerType, in)
			if err != nil {
				return fmt.Errorf("campaign %s destination %d: %w", campaignID, d.position, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE campaign_destinations SET message_id = $4
				WHERE workspace_id = $1 AND campaign_id = $2 AND position = $3`, ws, campaignID, d.position, messageID); err != nil {
				return err
			}
		}
		done = !more
		var fannedOut any
		if done {
			fannedOut = tx.now
		}
		_, err = tx.ExecContext(ctx, `UPDATE campaigns SET queued = queued + $3, fanned_out_date = COALESCE(fanned_out_date, $4)
			WHERE workspace_id = $1 AND id = $2`, ws, campaignID, len(dests), fannedOut)
		return err
	})
	return done, err
}

// CampaignService reads campaigns' progress.
type CampaignService struct{ db *DB }

// NewCampaignService returns the campaign service of db.
func NewCampaignService(db *DB) *CampaignService { return &CampaignService{db: db} }

var (
	_ plaza.CampaignService = (*CampaignService)(nil)
	_ plaza.CampaignFanOut  = (*OutboundService)(nil)
)

// FindCampaignByID returns the campaign with its messages counted by
// status.
func (s *CampaignService) FindCampaignByID(ctx context.Context, id string) (*plaza.Campaign, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	var c plaza.Campaign
	var created sqlTime
	var fannedOut sqlNullTime
	err = s.db.read.QueryRowContext(ctx, `SELECT id, name, template_name, whatsapp_number_id, total, queued, creation_date,
		fanned_out_date FROM campaigns WHERE workspace_id = $1 AND id = $2`, ws, id).
		Scan(&c.ID, &c.Name, &c.Template, &c.NumberID, &c.Total, &c.Queued, &created, &fannedOut)
	if err != nil {
		if plaza.ErrorCode(normalize(err)) == plaza.ENOTFOUND {
			return nil, plaza.Errorf(plaza.ENOTFOUND, "Campaign not found.")
		}
		return nil, err
	}
	c.CreationDate, c.FannedOutDate = created.plaza(), fannedOut.plaza()
	rows, err := s.db.read.QueryContext(ctx, `SELECT m.status, count(*) FROM campaign_destinations d
		JOIN messages m ON m.workspace_id = d.workspace_id AND m.id = d.message_id
		WHERE d.workspace_id = $1 AND d.campaign_id = $2 GROUP BY m.status`, ws, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var status *string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			rows.Close()
			return nil, err
		}
		if status == nil {
			continue
		}
		switch *status {
		case "sent":
			c.Sent += n
		case "delivered":
			c.Delivered += n
		case "read":
			c.Read += n
		case "failed":
			c.Failed += n
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	return &c, nil
}
