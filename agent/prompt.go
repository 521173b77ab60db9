package agent

import (
	"fmt"
	"strings"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/llm"
)

// systemPrompt is the agent's system message: its prompt, then how it
// writes (instructions), who it is (person), its limits (rules), how to
// use its tools, and the knowledge passages found for the question.
func systemPrompt(a plaza.AgentConfig, passages []Passage, firstTurn bool, tools []string) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	if p := strings.TrimSpace(a.Prompt); p != "" {
		line("%s", p)
	} else {
		line("You are a helpful customer service assistant.")
	}
	if a.Description != "" {
		line("About you: %s", a.Description)
	}

	if p := a.Person; p != nil && (p.Name != "" || p.Role != "") {
		b.WriteString("\n# Who you are\n")
		if p.Name != "" {
			line("Your name is %s.", p.Name)
		}
		if p.Role != "" {
			line("Your role: %s.", strings.TrimSuffix(p.Role, "."))
		}
		if p.SpeaksInFirstPerson {
			line("Speak in the first person.")
		}
		if p.IsHuman {
			line("Present yourself as a member of the team.")
		} else {
			line("If asked, say that you are a virtual assistant, not a person.")
		}
	}

	if in := a.Instructions; in != nil {
		b.WriteString("\n# How you write\n")
		for _, kv := range [][2]string{{"Tone", in.Tone}, {"Style", in.Style}, {"Personality", in.Personality},
			{"Objective", in.Objective}, {"Preferred format", in.PreferredFormat}} {
			if kv[1] != "" {
				line("- %s: %s.", kv[0], strings.TrimSuffix(kv[1], "."))
			}
		}
		if in.Language != "" {
			line("- Answer in the language %s, whatever language the customer writes in.", in.Language)
		}
		if in.Emojis {
			line("- You may use emojis.")
		} else {
			line("- Do not use emojis.")
		}
		if in.MaxWords > 0 {
			line("- Keep every answer under %d words.", in.MaxWords)
		}
		if in.MaintainToneBetweenMessages {
			line("- Keep the same tone in every message.")
		}
		if len(in.AvoidTopics) > 0 {
			line("- Do not talk about: %s. If asked, say politely that you cannot help with that.", strings.Join(in.AvoidTopics, "; "))
		}
		if in.RespondOnlyIfKnows {
			no := fallback(a, func(f *plaza.AgentFallbacks) string { return f.NoAnswer })
			line("- Answer only from the knowledge below and your tools' results. When they do not hold the answer, reply exactly: %q", no)
		}
		if firstTurn && in.Greeting != "" {
			line("- This is the first message of the conversation: begin with the greeting %q.", in.Greeting)
		}
	}

	if r := a.Rules; r != nil {
		var rules []string
		if r.DoNotMentionPrices {
			rules = append(rules, "Never mention prices or amounts.")
		}
		if r.DoNotDiagnose {
			rules = append(rules, "Never give a diagnosis (medical or technical); suggest talking to a professional.")
		}
		if r.DoNotRespondOutsideHours != "" {
			rules = append(rules, "Working hours: "+r.DoNotRespondOutsideHours)
		}
		if len(rules) > 0 {
			b.WriteString("\n# Rules\n")
			for _, s := range rules {
				line("- %s", s)
			}
		}
	}

	if len(tools) > 0 {
		b.WriteString("\n# Tools\n")
		line("You may call these tools: %s. Call a tool only when the customer's request needs it, and only with values the customer gave you; ask for what is missing first. When a tool result has a \"message\", tell it to the customer. Never claim an action was done unless its tool succeeded.", strings.Join(tools, ", "))
	}

	if len(passages) > 0 {
		b.WriteString("\n# Knowledge\nWhat the knowledge base says about the customer's question:\n")
		for i, p := range passages {
			ref := ""
			if p.Reference != "" {
				ref = " (" + p.Reference + ")"
			}
			line("[%d]%s %s", i+1, ref, strings.Join(strings.Fields(p.Text), " "))
		}
	}
	return strings.TrimSpace(b.String())
}

// historyMessages keeps the last buffer exchanges of the history (buffer
// 0 means 5; at most 50): 2*buffer messages, starting with a customer's.
func historyMessages(buffer int, history []HistoryMessage) []llm.Message {
	if buffer <= 0 {
		buffer = 5
	}
	buffer = min(buffer, 50)
	if n := 2 * buffer; len(history) > n {
		history = history[len(history)-n:]
	}
	for len(history) > 0 && history[0].Role != llm.RoleUser {
		history = history[1:]
	}
	out := make([]llm.Message, 0, len(history))
	for _, h := range history {
		if strings.TrimSpace(h.Text) == "" {
			continue
		}
		if h.Role == llm.RoleAssistant {
			out = append(out, llm.Assistant(h.Text))
		} else {
			out = append(out, llm.User(h.Text))
		}
	}
	return out
}
