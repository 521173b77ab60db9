package plaza_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/plaza-crm/plaza"
)

func TestTime_JSON(t *testing.T) {
	for _, c := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2025, 4, 8, 3, 52, 53, 377487600, time.UTC), `"2025-04-08T03:52:53.3774876Z"`},
		{time.Date(2025, 4, 8, 3, 52, 53, 0, time.UTC), `"2025-04-08T03:52:53.0000000Z"`},
		{time.Date(2025, 4, 8, 3, 52, 53, 123456789, time.FixedZone("PET", -5*3600)), `"2025-04-08T08:52:53.1234567Z"`},
	} {
		b, err := json.Marshal(plaza.NewTime(c.in))
		if err != nil || string(b) != c.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", c.in, b, err, c.want)
		}
	}
}

func TestTime_Parse(t *testing.T) {
	for in, want := range map[string]time.Time{
		`"2025-04-08T03:52:53.3774876Z"`: time.Date(2025, 4, 8, 3, 52, 53, 377487600, time.UTC),
		`"2025-04-06T20:16:46.808Z"`:     time.Date(2025, 4, 6, 20, 16, 46, 808000000, time.UTC),
		`"2025-04-30T00:00:00"`:          time.Date(2025, 4, 30, 0, 0, 0, 0, time.UTC),
		`"2025-04-30"`:                   time.Date(2025, 4, 30, 0, 0, 0, 0, time.UTC),
		`"2025-04-30T10:00:00-05:00"`:    time.Date(2025, 4, 30, 15, 0, 0, 0, time.UTC),
		`null`:                           {},
	} {
		var got plaza.Time
		if err := json.Unmarshal([]byte(in), &got); err != nil || !got.Equal(want) {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{`"yesterday"`, `"2025-13-01"`, `12`} {
		var got plaza.Time
		if err := json.Unmarshal([]byte(in), &got); plaza.ErrorCode(err) != plaza.EINVALID {
			t.Errorf("Unmarshal(%s): err = %v, want EINVALID", in, err)
		}
	}
}
