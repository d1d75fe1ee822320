package record

// FlattenParams returns nested params with dotted keys ("train.lr");
// already flat params come back as they are.
func FlattenParams(p map[string]any) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if prefix != "" {
				k = prefix + "." + k
			}
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
				walk(k, sub)
				continue
			}
			out[k] = v
		}
	}
	walk("", p)
	return out
}
