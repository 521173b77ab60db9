package whatsapp

import (
	"strconv"
	"strings"
)

// Summary renders an inbound message as one line of plain text, for a
// conversation's lastMessage: the text body; the caption of media, else a
// bracketed kind ("[image]", "[voice note]", "[document] file.pdf"); the
// place of a location; the emoji of a reaction; the title of a tapped
// button or list row; the name on a shared contact card. A removed
// reaction is "[reaction removed]", and any other type "[type]".
func Summary(m Message) string {
	switch m.Type {
	case "text":
		if m.Text != nil {
			return m.Text.Body
		}
	case "image", "video", "sticker":
		if a := m.Attachment(); a != nil && a.Caption != "" {
			return a.Caption
		}
	case "audio":
		if m.Audio != nil && m.Audio.Voice {
			return "[voice note]"
		}
	case "document":
		if d := m.Document; d != nil {
			if d.Caption != "" {
				return d.Caption
			}
			if d.Filename != "" {
				return "[document] " + d.Filename
			}
		}
	case "location":
		if l := m.Location; l != nil {
			switch {
			case l.Name != "":
				return "[location] " + l.Name
			case l.Address != "":
				return "[location] " + l.Address
			default:
				return "[location] " + strconv.FormatFloat(l.Latitude, 'f', -1, 64) + "," + strconv.FormatFloat(l.Longitude, 'f', -1, 64)
			}
		}
	case "contacts":
		var names []string
		for _, c := range m.Contacts {
			if n := c.Name.display(); n != "" {
				names = append(names, n)
			}
		}
		switch {
		case len(m.Contacts) == 1 && len(names) == 1:
			return "[contact] " + names[0]
		case len(names) > 0:
			return "[contacts] " + strings.Join(names, ", ")
		}
	case "reaction":
		if m.Reaction != nil {
			if m.Reaction.Removed() {
				return "[reaction removed]"
			}
			return m.Reaction.Emoji
		}
	case "button":
		if b := m.Button; b != nil {
			if b.Text != "" {
				return b.Text
			}
			return b.Payload
		}
	case "interactive":
		if m.Interactive != nil {
			if r := m.Interactive.Reply(); r != nil {
				return r.Title
			}
		}
	case "unsupported", "unknown":
		return "[unsupported]"
	case "":
		return ""
	}
	return "[" + m.Type + "]"
}

func (n ContactName) display() string {
	if n.FormattedName != "" {
		return n.FormattedName
	}
	return strings.TrimSpace(n.FirstName + " " + n.LastName)
}
