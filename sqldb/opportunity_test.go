package sqldb_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// oppOwnerContext bootstraps a workspace and returns a context acting as its
// owner through a login token.
func oppOwnerContext(t *testing.T, db *sqldb.DB, name, email string) (context.Context, *sqldb.Bootstrap) {
	t.Helper()
	b, err := db.Bootstrap(context.Background(), name, plaza.UserCreate{Email: email, Password: "correct-horse-1", Name: "Owner"})
	if err != nil {
		t.Fatal(err)
	}
	p := &plaza.Principal{UserID: b.UserID, WorkspaceID: b.WorkspaceID, Role: plaza.RoleOwner}
	return plaza.NewContextWithPrincipal(context.Background(), p), b
}

func oppPtr[T any](v T) *T { return &v }

func newOpportunityInput(name string) plaza.OpportunityCreate {
	return plaza.OpportunityCreate{Name: oppPtr(name), Description: oppPtr("d"), Amount: oppPtr(10.0)}
}

// Two handles on one database are two replicas: codes stay distinct and
// consecutive when both create at once.
func TestOpportunityService_CodesAcrossReplicas(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		replicas := []*sqldb.DB{sqldbtest.MustOpen(t, dsn), sqldbtest.MustOpen(t, dsn)}
		ctx, _ := oppOwnerContext(t, replicas[0], "Acme", "ana@acme.test")
		const n = 20
		codes := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := sqldb.NewOpportunityService(replicas[i%2])
				o, err := s.CreateOpportunity(ctx, newOpportunityInput(fmt.Sprint("Deal ", i)))
				if err != nil {
					t.Errorf("create %d: %v", i, err)
					return
				}
				codes[i] = o.OpportCode
			}()
		}
		wg.Wait()
		slices.Sort(codes)
		var want []string
		for i := 1; i <= n; i++ {
			want = append(want, fmt.Sprintf("OPP-%06d", i))
		}
		if diff := cmp.Diff(want, codes); diff != "" {
			t.Fatalf("codes (-want +got):\n%s", diff)
		}
	})
}

// Concurrent stage creates on two replicas get distinct positions 1..n.
func TestPipelineService_ConcurrentStageCreates(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, dsn string) {
		replicas := []*sqldb.DB{sqldbtest.MustOpen(t, dsn), sqldbtest.MustOpen(t, dsn)}
		ctx, _ := oppOwnerContext(t, replicas[0], "Acme", "ana@acme.test")
		const n = 10
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := sqldb.NewPipelineService(replicas[i%2])
				if _, err := s.CreateStage(ctx, "opportunity", plaza.StageCreate{Name: oppPtr(fmt.Sprint("Stage ", i)), Order: oppPtr(2)}); err != nil {
					t.Errorf("create %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		ps, err := sqldb.NewPipelineService(replicas[0]).FindPipelines(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stages := ps[1].Stages
		if len(stages) != 4+n {
			t.Fatalf("%d stages, want %d", len(stages), 4+n)
		}
		for i, st := range stages {
			if st.Order != i+1 {
				t.Errorf("stage %d %q has order %d", i, st.Name, st.Order)
			}
		}
		if stages[0].Name != "Prospecting" || !stages[0].IsDefault {
			t.Errorf("first stage = %+v", stages[0])
		}
	})
}

// Same-named stages created at once: one wins, the other is ECONFLICT.
func TestPipelineService_StageNamesUnique(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx, _ := oppOwnerContext(t, db, "Acme", "ana@acme.test")
		s := sqldb.NewPipelineService(db)
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.CreateStage(ctx, "contact", plaza.StageCreate{Name: oppPtr("Lost")})
			}()
		}
		wg.Wait()
		created := 0
		for _, err := range errs {
			switch plaza.ErrorCode(err) {
			case "":
				created++
			case plaza.ECONFLICT:
			default:
				t.Errorf("err = %v", err)
			}
		}
		if created != 1 {
			t.Errorf("%d stages named Lost were created", created)
		}
	})
}

// The history is attributed to the principal's actor and read newest
// first; a win/loss change leaves the stage fields null.
func TestHistoryService_FindStageHistory(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx, b := oppOwnerContext(t, db, "Acme", "ana@acme.test")
		opps, hist := sqldb.NewOpportunityService(db), sqldb.NewHistoryService(db)
		o, err := opps.CreateOpportunity(ctx, newOpportunityInput("Deal"))
		if err != nil {
			t.Fatal(err)
		}
		ps, err := sqldb.NewPipelineService(db).FindPipelines(ctx)
		if err != nil {
			t.Fatal(err)
		}
		next := ps[1].Stages[1].ID
		keyCtx := plaza.NewContextWithPrincipal(context.Background(),
			&plaza.Principal{UserID: b.UserID, WorkspaceID: b.WorkspaceID, Role: plaza.RoleOwner, APIKeyID: "key-1"})
		if _, err := opps.UpdateOpportunity(keyCtx, o.ID, plaza.OpportunityUpdate{StageID: &next}); err != nil {
			t.Fatal(err)
		}
		if _, err := opps.SetWinLoss(ctx, o.ID, plaza.WinLoss{Status: plaza.WinLossLost, LossReason: "Budget"}); err != nil {
			t.Fatal(err)
		}
		h, err := hist.FindStageHistory(ctx, plaza.EntityOpportunity, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			From, To         *string
			FromWL, ToWL     *plaza.WinLossStatus
			Reason           *string
			ActorType, Actor string
		}
		var got []row
		for _, c := range h {
			got = append(got, row{c.FromStageID, c.ToStageID, c.FromWinLossStatus, c.ToWinLossStatus, c.LossReason, c.Actor.Type, c.Actor.ID})
		}
		want := []row{
			{nil, nil, oppPtr(plaza.WinLossOpen), oppPtr(plaza.WinLossLost), oppPtr("Budget"), "user", b.UserID},
			{o.StageID, &next, nil, nil, nil, "api_key", "key-1"},
			{nil, o.StageID, nil, nil, nil, "user", b.UserID},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("history (-want +got):\n%s", diff)
		}
		// Another workspace does not see it.
		other, _ := oppOwnerContext(t, db, "Beta", "bob@beta.test")
		if _, err := hist.FindStageHistory(other, plaza.EntityOpportunity, o.ID); plaza.ErrorCode(err) != plaza.ENOTFOUND {
			t.Errorf("another workspace: err = %v", err)
		}
		if _, err := hist.FindStageHistory(ctx, "task", o.ID); plaza.ErrorCode(err) != plaza.ENOTFOUND {
			t.Errorf("unknown entity: err = %v", err)
		}
	})
}
