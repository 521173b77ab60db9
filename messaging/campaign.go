package messaging

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
)

// DefaultCampaignBatch is how many destinations one fan-out transaction
// queues.
const DefaultCampaignBatch = 200

// CampaignWorker fans a campaign out (plaza.WhatsAppCampaignJob): batch by
// batch, each destination gets its message and send job, committed with
// the mark that it has them. A run cut short (a crash, a timeout) leaves
// the rest to the job's next attempt, which resumes at the first
// destination without a message: none is skipped or queued twice.
type CampaignWorker struct {
	river.WorkerDefaults[plaza.WhatsAppCampaignJob]

	Store  plaza.CampaignFanOut
	Batch  int
	Logger *slog.Logger
}

// AddCampaignWorker registers w on workers.
func AddCampaignWorker(workers *river.Workers, w *CampaignWorker) { river.AddWorker(workers, w) }

// Timeout lets a run fan out the largest campaign on a slow database; a
// run cut anyway is resumed by the next attempt.
func (w *CampaignWorker) Timeout(*river.Job[plaza.WhatsAppCampaignJob]) time.Duration {
	return 15 * time.Minute
}

// Work fans the campaign out until no destination is left.
func (w *CampaignWorker) Work(ctx context.Context, job *river.Job[plaza.WhatsAppCampaignJob]) error {
	batch := w.Batch
	if batch <= 0 {
		batch = DefaultCampaignBatch
	}
	log := w.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	for batches := 1; ; batches++ {
		done, err := w.Store.FanOutWhatsAppCampaign(ctx, job.Args.WorkspaceID, job.Args.CampaignID, batch)
		if plaza.ErrorCode(err) == plaza.ENOTFOUND {
			return river.JobCancel(err)
		} else if err != nil {
			return err
		}
		if done {
			log.Info("whatsapp campaign: fanned out", "workspace_id", job.Args.WorkspaceID, "campaign_id", job.Args.CampaignID,
				"batches", batches, "attempt", job.Attempt, "took", time.Since(start).String())
			return nil
		}
	}
}
