package plaza

// PageSize is how many records a page of a list holds, as in Plazbot.
const PageSize = 20

// Page asks for one page of a list, newest first: the records after (older
// than) the one keyed After, at most Limit of them. Ids are time-ordered
// (UUIDv7), so the key is the id, and a list being written to while it is
// paged never repeats or skips a record that existed when paging began.
type Page struct {
	After string
	Limit int
}

// Size is the page's limit, PageSize when unset.
func (p Page) Size() int {
	if p.Limit <= 0 {
		return PageSize
	}
	return p.Limit
}
