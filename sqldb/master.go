package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/plaza-crm/plaza"
)

// MasterService implements plaza.MasterService: the tags and segmentations
// of a workspace. Both tables have the same shape, so one implementation
// serves both, told apart by a masterKind.
type MasterService struct{ db *DB }

// NewMasterService returns the master service of db.
func NewMasterService(db *DB) *MasterService { return &MasterService{db: db} }

var _ plaza.MasterService = (*MasterService)(nil)

// masterKind names a master table and what its rows are called.
type masterKind struct {
	table string // "tags"
	what  string // "Tag"
}

var (
	tagKind          = masterKind{"tags", "Tag"}
	segmentationKind = masterKind{"segmentations", "Segmentation"}
)

// master is a row of either table.
type master struct {
	ID, Name, Color string
	CreationDate    plaza.Time
}

func (m master) tag() *plaza.Tag {
	return &plaza.Tag{ID: m.ID, Name: m.Name, Color: m.Color, CreationDate: m.CreationDate}
}

func (m master) segmentation() *plaza.Segmentation {
	return &plaza.Segmentation{ID: m.ID, Name: m.Name, Color: m.Color, CreationDate: m.CreationDate}
}

// FindTags lists the tags of the caller's workspace by name.
func (s *MasterService) FindTags(ctx context.Context) ([]plaza.Tag, error) {
	ms, err := s.find(ctx, tagKind)
	if err != nil {
		return nil, err
	}
	tags := make([]plaza.Tag, len(ms))
	for i, m := range ms {
		tags[i] = *m.tag()
	}
	return tags, nil
}

// CreateTag creates a tag; ECONFLICT when the name is taken.
func (s *MasterService) CreateTag(ctx context.Context, in plaza.MasterCreate) (*plaza.Tag, error) {
	m, err := s.create(ctx, tagKind, in)
	if err != nil {
		return nil, err
	}
	return m.tag(), nil
}

// UpdateTag renames or recolours a tag.
func (s *MasterService) UpdateTag(ctx context.Context, id string, upd plaza.MasterUpdate) (*plaza.Tag, error) {
	m, err := s.update(ctx, tagKind, id, upd)
	if err != nil {
		return nil, err
	}
	return m.tag(), nil
}

// DeleteTag deletes a tag; contact_tags' ON DELETE CASCADE takes it off
// the contacts that had it, whose updatedDate moves so that clients
// syncing by updatedSince see the change.
func (s *MasterService) DeleteTag(ctx context.Context, id string) error {
	p, err := requireMasterManager(ctx)
	if err != nil {
		return err
	}
	ws := p.WorkspaceID
	return s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.findMaster(ctx, tagKind, ws, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET updated_date = $3
			WHERE workspace_id = $1 AND deletion_date IS NULL AND id IN (
				SELECT contact_id FROM contact_tags WHERE workspace_id = $1 AND tag_id = $2)`, ws, id, tx.now); err != nil {
			return fmt.Errorf("touch tagged contacts: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE workspace_id = $1 AND id = $2`, ws, id); err != nil {
			return fmt.Errorf("delete tag: %w", err)
		}
		return nil
	})
}

// FindSegmentations lists the segmentations of the caller's workspace by
// name.
func (s *MasterService) FindSegmentations(ctx context.Context) ([]plaza.Segmentation, error) {
	ms, err := s.find(ctx, segmentationKind)
	if err != nil {
		return nil, err
	}
	segs := make([]plaza.Segmentation, len(ms))
	for i, m := range ms {
		segs[i] = *m.segmentation()
	}
	return segs, nil
}

// CreateSegmentation creates a segmentation; ECONFLICT when the name is
// taken.
func (s *MasterService) CreateSegmentation(ctx context.Context, in plaza.MasterCreate) (*plaza.Segmentation, error) {
	m, err := s.create(ctx, segmentationKind, in)
	if err != nil {
		return nil, err
	}
	return m.segmentation(), nil
}

// UpdateSegmentation renames or recolours a segmentation.
func (s *MasterService) UpdateSegmentation(ctx context.Context, id string, upd plaza.MasterUpdate) (*plaza.Segmentation, error) {
	m, err := s.update(ctx, segmentationKind, id, upd)
	if err != nil {
		return nil, err
	}
	return m.segmentation(), nil
}

// DeleteSegmentation deletes a segmentation. While live contacts or
// opportunities belong to it, it is ECONFLICT unless force; with force, or
// when only deleted records refer to it, those references are cleared
// first (the foreign keys require it), moving the live records'
// updatedDate.
func (s *MasterService) DeleteSegmentation(ctx context.Context, id string, force bool) error {
	p, err := requireMasterManager(ctx)
	if err != nil {
		return err
	}
	ws := p.WorkspaceID
	return s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.findMaster(ctx, segmentationKind, ws, id); err != nil {
			return err
		}
		var contacts, opportunities int
		if err := tx.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM contacts WHERE workspace_id = $1 AND segmentation_id = $2 AND deletion_date IS NULL),
			(SELECT count(*) FROM opportunities WHERE workspace_id = $1 AND segmentation_id = $2 AND deletion_date IS NULL)`,
			ws, id).Scan(&contacts, &opportunities); err != nil {
			return fmt.Errorf("count segmentation uses: %w", err)
		}
		if (contacts > 0 || opportunities > 0) && !force {
			return &plaza.Error{Code: plaza.ECONFLICT,
				Message: fmt.Sprintf("The segmentation is in use by %s and %s: delete it with force=true to take it off them.",
					masterUses(contacts, "contact", "contacts"), masterUses(opportunities, "opportunity", "opportunities")),
				Data: map[string]int{"contacts": contacts, "opportunities": opportunities}}
		}
		for _, table := range []string{"contacts", "opportunities"} {
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET segmentation_id = NULL,
				updated_date = CASE WHEN deletion_date IS NULL THEN $3 ELSE updated_date END
				WHERE workspace_id = $1 AND segmentation_id = $2`, ws, id, tx.now); err != nil {
				return fmt.Errorf("clear segmentation from %s: %w", table, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM segmentations WHERE workspace_id = $1 AND id = $2`, ws, id); err != nil {
			return fmt.Errorf("delete segmentation: %w", err)
		}
		return nil
	})
}

// masterUses renders n records: "1 contact", "2 contacts".
func masterUses(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// requireMasterManager returns the caller, who must be an owner or admin
// acting in a workspace.
func requireMasterManager(ctx context.Context) (*plaza.Principal, error) {
	if _, err := plaza.RequireWorkspace(ctx); err != nil {
		return nil, err
	}
	return plaza.RequireManager(ctx)
}

// find lists a workspace's masters sorted by name regardless of case (in
// Go, so both databases sort alike whatever their collation), then by id.
func (s *MasterService) find(ctx context.Context, k masterKind) ([]master, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, name, color, creation_date FROM `+k.table+`
		WHERE workspace_id = $1`, p.WorkspaceID)
	if err != nil {
		return nil, err
	}
	ms := []master{}
	for rows.Next() {
		var m master
		var created sqlTime
		if err := rows.Scan(&m.ID, &m.Name, &m.Color, &created); err != nil {
			rows.Close()
			return nil, err
		}
		m.CreationDate = created.plaza()
		ms = append(ms, m)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	sort.Slice(ms, func(i, j int) bool {
		a, b := strings.ToLower(ms[i].Name), strings.ToLower(ms[j].Name)
		if a != b {
			return a < b
		}
		if ms[i].Name != ms[j].Name {
			return ms[i].Name < ms[j].Name
		}
		return ms[i].ID < ms[j].ID
	})
	return ms, nil
}

func (s *MasterService) create(ctx context.Context, k masterKind, in plaza.MasterCreate) (*master, error) {
	p, err := requireMasterManager(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	var m *master
	err = s.db.inTx(ctx, func(tx *Tx) error {
		if err := tx.checkMasterName(ctx, k, ws, in.Name, ""); err != nil {
			return err
		}
		id := newID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+k.table+` (workspace_id, id, name, color, creation_date)
			VALUES ($1, $2, $3, $4, $5)`, ws, id, in.Name, in.Color, tx.now); err != nil {
			return err
		}
		m, err = tx.findMaster(ctx, k, ws, id)
		return err
	})
	if isUnique(err) {
		// Another transaction took the name between the check and the insert.
		return nil, s.nameConflict(ctx, k, ws, in.Name)
	} else if err != nil {
		return nil, err
	}
	return m, nil
}

func (s *MasterService) update(ctx context.Context, k masterKind, id string, upd plaza.MasterUpdate) (*master, error) {
	p, err := requireMasterManager(ctx)
	if err != nil {
		return nil, err
	}
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	ws := p.WorkspaceID
	var m *master
	err = s.db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.findMaster(ctx, k, ws, id); err != nil {
			return err
		}
		if upd.Name != nil {
			if err := tx.checkMasterName(ctx, k, ws, *upd.Name, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE `+k.table+` SET name = $3 WHERE workspace_id = $1 AND id = $2`,
				ws, id, *upd.Name); err != nil {
				return err
			}
		}
		if upd.Color != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE `+k.table+` SET color = $3 WHERE workspace_id = $1 AND id = $2`,
				ws, id, *upd.Color); err != nil {
				return err
			}
		}
		m, err = tx.findMaster(ctx, k, ws, id)
		return err
	})
	if isUnique(err) && upd.Name != nil {
		return nil, s.nameConflict(ctx, k, ws, *upd.Name)
	} else if err != nil {
		return nil, err
	}
	return m, nil
}

// findMaster returns one master of the workspace; ENOTFOUND otherwise.
func (tx *Tx) findMaster(ctx context.Context, k masterKind, ws, id string) (*master, error) {
	var m master
	var created sqlTime
	err := tx.QueryRowContext(ctx, `SELECT id, name, color, creation_date FROM `+k.table+`
		WHERE workspace_id = $1 AND id = $2`, ws, id).Scan(&m.ID, &m.Name, &m.Color, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, plaza.Errorf(plaza.ENOTFOUND, "%s not found.", k.what)
	} else if err != nil {
		return nil, err
	}
	m.CreationDate = created.plaza()
	return &m, nil
}

// checkMasterName returns ECONFLICT carrying the existing record's id when
// another master of the workspace (not exceptID) has name in any case. It
// compares in Go, with Unicode case folding, since SQLite's LOWER folds
// ASCII only; the unique index on LOWER(name) backs it against races.
func (tx *Tx) checkMasterName(ctx context.Context, k masterKind, ws, name, exceptID string) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM `+k.table+` WHERE workspace_id = $1`, ws)
	if err != nil {
		return err
	}
	var clash string
	for rows.Next() {
		var id, n string
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return err
		}
		if id != exceptID && strings.EqualFold(n, name) {
			clash = id
		}
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	if clash != "" {
		return masterConflict(k, name, clash)
	}
	return nil
}

// nameConflict is the ECONFLICT of a name another transaction took first.
func (s *MasterService) nameConflict(ctx context.Context, k masterKind, ws, name string) error {
	var id string
	err := s.db.read.QueryRowContext(ctx, `SELECT id FROM `+k.table+` WHERE workspace_id = $1 AND LOWER(name) = LOWER($2)`,
		ws, name).Scan(&id)
	if err != nil {
		return fmt.Errorf("find %s named %q: %w", k.table, name, err)
	}
	return masterConflict(k, name, id)
}

func masterConflict(k masterKind, name, id string) error {
	return &plaza.Error{Code: plaza.ECONFLICT, Message: fmt.Sprintf("A %s named %q already exists.", strings.ToLower(k.what), name),
		Data: map[string]string{"id": id}}
}
