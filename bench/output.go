package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// Report is the JSON document of a run.
type Report struct {
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Facts    Facts     `json:"machine"`
	Config   Config    `json:"config"`
	Method   []string  `json:"method"`
	Results  *Results  `json:"results"`
	Targets  []Target  `json:"targets"`
	Complete bool      `json:"complete"` // false when interrupted or a topology failed to build
}

// WriteJSON writes rep, indented, to path (creating its directory).
func WriteJSON(path string, rep Report) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
