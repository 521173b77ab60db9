package plaza

import "context"

// The kinds of record whose stage changes are recorded.
const (
	EntityContact     = "contact"
	EntityOpportunity = "opportunity"
)

// StageChange is one entry of a record's stage history: a move from one
// stage to another, or a change of an opportunity's win/loss status, and
// who made it. Plaza's extension: neither Plazbot nor Twenty exposes one.
//
// Each entry says only what changed: a stage move leaves the win/loss
// fields null, a win/loss change leaves the stage fields null. A record's
// first entry, written when it is created, has a null fromStageId.
type StageChange struct {
	ID                string         `json:"id"`
	Entity            string         `json:"entity"`
	RecordID          string         `json:"recordId"`
	FromStageID       *string        `json:"fromStageId"`
	ToStageID         *string        `json:"toStageId"`
	FromWinLossStatus *WinLossStatus `json:"fromWinLossStatus"`
	ToWinLossStatus   *WinLossStatus `json:"toWinLossStatus"`
	// LossReason is set on the change that lost an opportunity.
	LossReason   *string `json:"lossReason"`
	Actor        Actor   `json:"actor"`
	CreationDate Time    `json:"creationDate"`
}

// HistoryService reads stage histories.
type HistoryService interface {
	// FindStageHistory returns the stage history of a live contact or
	// opportunity of the caller's workspace, newest first; ENOTFOUND when
	// there is no such record.
	FindStageHistory(ctx context.Context, entity, recordID string) ([]StageChange, error)
}
