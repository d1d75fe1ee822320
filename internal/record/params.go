package record

// FlattenParams returns every leaf of nested params under its dotted key
// ("train.lr" → 0.01): what the ledger's run.started records and what
// listings and templates use. Lists are leaves; empty mappings are left
// out; already flat params come back as they are.
func FlattenParams(p map[string]any) map[string]any {
	out := map[string]any{}
	flatten(out, "", p)
	return out
}

func flatten(out map[string]any, prefix string, m map[string]any) {
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			flatten(out, key, sub)
			continue
		}
		out[key] = v
	}
}
