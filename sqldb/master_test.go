package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/sqldb"
	"github.com/plaza-crm/plaza/sqldb/sqldbtest"
)

// Replicas creating the same name at once: exactly one wins, every other
// gets ECONFLICT naming the winner, whatever the case of the name.
func TestMasterService_ConcurrentCreate(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		a := mustBootstrap(t, db, "Acme", "ana@acme.test")
		ctx := taskOwnerContext(a)
		masters := sqldb.NewMasterService(db)
		const n = 8
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := "Hot"
				if i%2 == 1 {
					name = strings.ToUpper(name)
				}
				tag, err := masters.CreateTag(ctx, plaza.MasterCreate{Name: name})
				if err == nil {
					ids[i] = tag.ID
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		var winner string
		for i, err := range errs {
			if err == nil {
				if winner != "" {
					t.Fatalf("two creates won: %s and %s", winner, ids[i])
				}
				winner = ids[i]
			}
		}
		if winner == "" {
			t.Fatalf("no create won: %v", errs)
		}
		for _, err := range errs {
			if err == nil {
				continue
			}
			wantCode(t, err, plaza.ECONFLICT)
			var e *plaza.Error
			if !errors.As(err, &e) || fmt.Sprint(e.Data) != fmt.Sprint(map[string]string{"id": winner}) {
				t.Fatalf("conflict data = %v, want the winner %s", e.Data, winner)
			}
		}
	})
}

func TestMasterService_Roles(t *testing.T) {
	sqldbtest.EachDB(t, func(t *testing.T, db *sqldb.DB) {
		a := mustBootstrap(t, db, "Acme", "ana@acme.test")
		masters := sqldb.NewMasterService(db)
		owner := taskOwnerContext(a)
		tag, err := masters.CreateTag(owner, plaza.MasterCreate{Name: "Hot"})
		if err != nil {
			t.Fatal(err)
		}
		seg, err := masters.CreateSegmentation(owner, plaza.MasterCreate{Name: "Retail", Color: "#ABCDEF"})
		if err != nil || seg.Color != "#abcdef" {
			t.Fatalf("segmentation = %+v, %v", seg, err)
		}
		agent := plaza.NewContextWithPrincipal(context.Background(),
			&plaza.Principal{UserID: a.UserID, WorkspaceID: a.WorkspaceID, Role: plaza.RoleAgent})
		if tags, err := masters.FindTags(agent); err != nil || len(tags) != 4 {
			t.Fatalf("agent lists %d tags, %v", len(tags), err)
		}
		name := "Cold"
		_, err = masters.CreateTag(agent, plaza.MasterCreate{Name: "x"})
		wantCode(t, err, plaza.EFORBIDDEN)
		_, err = masters.UpdateTag(agent, tag.ID, plaza.MasterUpdate{Name: &name})
		wantCode(t, err, plaza.EFORBIDDEN)
		wantCode(t, masters.DeleteTag(agent, tag.ID), plaza.EFORBIDDEN)
		wantCode(t, masters.DeleteSegmentation(agent, seg.ID, true), plaza.EFORBIDDEN)
		_, err = masters.FindSegmentations(context.Background())
		wantCode(t, err, plaza.EUNAUTHORIZED)
	})
}
