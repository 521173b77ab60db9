package sqldb_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

type pingArgs struct {
	N int `json:"n"`
}

func (pingArgs) Kind() string { return "test_ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	done  chan int
	fails atomic.Int32
}

func (w *pingWorker) Work(ctx context.Context, job *river.Job[pingArgs]) error {
	if job.Args.N < 0 && w.fails.Add(1) == 1 {
		return errors.New("first attempt fails")
	}
	w.done <- job.Args.N
	return nil
}

func TestQueue_JobCommitsWithItsTransaction(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		w := &pingWorker{done: make(chan int, 10)}
		workers := river.NewWorkers()
		river.AddWorker(workers, w)
		q, err := db.OpenQueue(sqldb.QueueConfig{Workers: workers,
			RetryPolicy: &immediateRetry{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			q.Stop(sctx)
		})

		// A rolled-back transaction leaves no job; a committed one runs.
		if err := db.EnqueueForTest(ctx, pingArgs{N: 1}, errors.New("roll back")); err == nil {
			t.Fatal("want the rollback error")
		}
		if err := db.EnqueueForTest(ctx, pingArgs{N: 2}, nil); err != nil {
			t.Fatal(err)
		}
		// A failing job is retried.
		if err := db.EnqueueForTest(ctx, pingArgs{N: -3}, nil); err != nil {
			t.Fatal(err)
		}
		got := map[int]bool{}
		for len(got) < 2 {
			select {
			case n := <-w.done:
				got[n] = true
			case <-time.After(20 * time.Second):
				t.Fatalf("jobs worked: %v", got)
			}
		}
		if !got[2] || !got[-3] || got[1] {
			t.Fatalf("jobs worked: %v, want 2 and -3 (retried), not 1", got)
		}
	})
}

// immediateRetry retries at once, so the test does not wait on backoff.
type immediateRetry struct{}

func (*immediateRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now() }
