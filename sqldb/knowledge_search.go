package sqldb

import (
	"context"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/plaza-crm/plaza"
)

// maxSearchTerms bounds the words of a query that are searched for.
const maxSearchTerms = 32

// foldText lower-cases s and removes its accents ("Café" -> "cafe"), as
// SQLite's unicode61 tokenizer with remove_diacritics 2 does; on
// PostgreSQL passages are indexed, and queries searched, folded so.
func foldText(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		folded = s
	}
	return strings.ToLower(folded)
}

// searchTerms returns the words of a query, folded, each once, in order:
// runs of letters and digits. Everything else (quotes, operators,
// punctuation) separates words, so no text is a syntax error.
func searchTerms(query string) []string {
	var terms []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(foldText(query), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }) {
		if !seen[w] && len(terms) < maxSearchTerms {
			seen[w] = true
			terms = append(terms, w)
		}
	}
	return terms
}

// searchStem is the prefix a query word is also matched by: its first
// 55% of letters, at least four ("opening" finds "opens", "horarios"
// finds "hora", "reembolso" finds "reembolsos"), a stemming that needs no
// language; "" for words of fewer than four letters, so that short ones
// do not match half the index. The word itself is searched too, so a
// passage with the very word ranks above one with only its stem.
func searchStem(term string) string {
	r := []rune(term)
	if len(r) < 4 {
		return ""
	}
	return string(r[:max(4, len(r)*55/100)])
}

// SearchKnowledge returns an agent's passages best matching query: any of
// its words, ranked by BM25 on SQLite and ts_rank on PostgreSQL.
func (s *AgentService) SearchKnowledge(ctx context.Context, workspaceID, agentID, query string, limit int) ([]plaza.Passage, error) {
	terms := searchTerms(query)
	passages := []plaza.Passage{}
	if len(terms) == 0 || limit <= 0 {
		return passages, nil
	}
	var q string
	var match string
	if s.db.Dialect == Postgres {
		var parts []string
		for _, t := range terms {
			// Letters and digits only: a valid tsquery lexeme.
			parts = append(parts, t)
			if stem := searchStem(t); stem != "" {
				parts = append(parts, stem+":*")
			}
		}
		match = strings.Join(parts, " | ")
		q = `SELECT p.file_id, f.reference, p.text, ts_rank(p.tsv, query) AS score
			FROM knowledge_passages p
			JOIN knowledge_files f ON f.workspace_id = p.workspace_id AND f.id = p.file_id,
			to_tsquery('simple', $1) query
			WHERE p.workspace_id = $2 AND p.agent_id = $3 AND p.tsv @@ query
			ORDER BY score DESC, p.file_id, p.seq LIMIT $4`
	} else {
		var parts []string
		for _, t := range terms {
			// A quoted string is one phrase to FTS5, whatever it holds.
			parts = append(parts, `"`+strings.ReplaceAll(t, `"`, `""`)+`"`)
			if stem := searchStem(t); stem != "" {
				parts = append(parts, `"`+strings.ReplaceAll(stem, `"`, `""`)+`"*`)
			}
		}
		match = strings.Join(parts, " OR ")
		q = `SELECT p.file_id, f.reference, p.text, -bm25(knowledge_fts) AS score
			FROM knowledge_fts
			JOIN knowledge_passages p ON p.pk = knowledge_fts.rowid
			JOIN knowledge_files f ON f.workspace_id = p.workspace_id AND f.id = p.file_id
			WHERE knowledge_fts MATCH $1 AND p.workspace_id = $2 AND p.agent_id = $3
			ORDER BY bm25(knowledge_fts), p.file_id, p.seq LIMIT $4`
	}
	rows, err := s.db.read.QueryContext(ctx, q, match, workspaceID, agentID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p plaza.Passage
		if err := rows.Scan(&p.FileID, &p.Reference, &p.Text, &p.Rank); err != nil {
			return nil, err
		}
		passages = append(passages, p)
	}
	return passages, rows.Err()
}
