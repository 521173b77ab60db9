// Package knowledge indexes agents' knowledge files on the durable queue:
// it fetches a file added by URL (through the fetch guard's client),
// extracts its text, cuts it into passages and stores them, or records
// why it could not.
package knowledge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/extract"
)

// Worker works plaza.KnowledgeIndexJob.
type Worker struct {
	river.WorkerDefaults[plaza.KnowledgeIndexJob]
	Store plaza.KnowledgeIndexer
	// Client fetches files added by URL: the fetch guard's, which refuses
	// private addresses unless allow-listed and follows no redirect.
	Client *http.Client
	Logger *slog.Logger
}

// AddWorker registers w on workers.
func AddWorker(workers *river.Workers, w *Worker) { river.AddWorker(workers, w) }

// Timeout bounds one attempt: a fetch of up to extract.MaxDocumentSize
// and its extraction.
func (w *Worker) Timeout(*river.Job[plaza.KnowledgeIndexJob]) time.Duration { return 2 * time.Minute }

// fetchTimeout bounds one download.
const fetchTimeout = time.Minute

// Work indexes one file. A file deleted meanwhile, or no longer
// processing, is left alone. A failure that will not change on retry (the
// URL answers 4xx, the document cannot be read) fails the file at once; a
// transient one (a network error, a 5xx) is retried by the queue, and
// fails the file on the last attempt.
func (w *Worker) Work(ctx context.Context, job *river.Job[plaza.KnowledgeIndexJob]) error {
	args := job.Args
	src, err := w.Store.KnowledgeSource(ctx, args.WorkspaceID, args.FileID)
	if plaza.ErrorCode(err) == plaza.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if src.File.Status != plaza.KnowledgeProcessing {
		return nil
	}
	data, contentType, name := src.Content, src.ContentType, src.File.FileName
	if src.File.FileURL != nil {
		data, contentType, err = w.fetch(ctx, *src.File.FileURL)
		var perm *permanentError
		switch {
		case errors.As(err, &perm):
			return w.fail(ctx, args, perm.reason)
		case err != nil && job.Attempt >= job.MaxAttempts:
			return w.fail(ctx, args, "Cannot fetch the file: "+err.Error())
		case err != nil:
			return err // retried
		}
	}
	text, err := extract.Text(data, contentType, name)
	if err != nil {
		if code := plaza.ErrorCode(err); code == plaza.EUNPROCESSABLE || code == plaza.ETOOLARGE {
			return w.fail(ctx, args, plaza.ErrorMessage(err))
		}
		return err
	}
	err = w.Store.StoreKnowledgePassages(ctx, args.WorkspaceID, args.FileID, int64(len(data)), extract.Chunk(text))
	if plaza.ErrorCode(err) == plaza.ENOTFOUND {
		return nil
	}
	return err
}

func (w *Worker) fail(ctx context.Context, args plaza.KnowledgeIndexJob, reason string) error {
	if w.Logger != nil {
		w.Logger.Info("knowledge file failed", "workspace_id", args.WorkspaceID, "file_id", args.FileID, "reason", reason)
	}
	return w.Store.FailKnowledgeFile(ctx, args.WorkspaceID, args.FileID, reason)
}

// permanentError is a fetch failure that a retry would repeat.
type permanentError struct{ reason string }

func (e *permanentError) Error() string { return e.reason }

// fetch downloads a file: 2xx only, at most extract.MaxDocumentSize bytes.
func (w *Worker) fetch(ctx context.Context, url string) (data []byte, contentType string, err error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", &permanentError{"The file URL is not valid."}
	}
	req.Header.Set("User-Agent", "Plaza knowledge fetcher")
	resp, err := w.Client.Do(req)
	if err != nil {
		if strings.Contains(err.Error(), "PLAZA_FETCH_ALLOW") {
			// The guard refused the address the name resolved to.
			return nil, "", &permanentError{"Cannot fetch the file: " + guardReason(err)}
		}
		return nil, "", err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, "", &permanentError{fmt.Sprintf("The file URL redirects (%d to %s); give the final URL.",
			resp.StatusCode, resp.Header.Get("Location"))}
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, "", fmt.Errorf("the server answered %s", resp.Status)
	case resp.StatusCode >= 400:
		return nil, "", &permanentError{fmt.Sprintf("The file URL answered %s.", resp.Status)}
	}
	if resp.ContentLength > extract.MaxDocumentSize {
		return nil, "", &permanentError{fmt.Sprintf("The file is larger than %d MiB.", extract.MaxDocumentSize>>20)}
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, extract.MaxDocumentSize+1))
	if err != nil {
		return nil, "", err
	}
	if len(data) > extract.MaxDocumentSize {
		return nil, "", &permanentError{fmt.Sprintf("The file is larger than %d MiB.", extract.MaxDocumentSize>>20)}
	}
	return data, resp.Header.Get("Content-Type"), nil
}

// guardReason is the guard's words without Go's wrapping of the request.
func guardReason(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "refused to connect"); i >= 0 {
		msg = msg[i:]
	}
	return msg + "."
}
