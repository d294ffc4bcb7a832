package usage

import "testing"

func TestApplyReadsEachFamilyAndRefusesBadCounts(t *testing.T) {
	for _, tc := range []struct {
		name, obj string
		want      Tokens
		malformed int
	}{
		{"anthropic", `{"input_tokens":12,"cache_creation_input_tokens":2048,"cache_read_input_tokens":1536,"cache_creation":{"ephemeral_5m_input_tokens":2048},"output_tokens":27,"service_tier":"standard","server_tool_use":{"web_search_requests":0}}`,
			Tokens{Input: 12, Output: 27, CacheRead: 1536, CacheCreation: 2048}, 0},
		{"openai chat", `{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}`,
			Tokens{Input: 1117, Output: 46, CacheRead: 1024}, 0},
		{"responses", `{ "input_tokens" : 328 , "input_tokens_details" : { "cached_tokens" : 128 } , "output_tokens" : 52 }`,
			Tokens{Input: 328, Output: 52, CacheRead: 128}, 0},
		{"gemini", `{"promptTokenCount":8,"candidatesTokenCount":2,"thoughtsTokenCount":40,"cachedContentTokenCount":3,"promptTokensDetails":[{"modality":"TEXT","tokenCount":8}]}`,
			Tokens{Input: 8, Output: 42, CacheRead: 3}, 0},
		{"nulls are absent", `{"input_tokens":null,"output_tokens":5}`, Tokens{Output: 5}, 0},
		{"escaped strings skipped", `{"note":"a \"quoted\" } brace","output_tokens":5}`, Tokens{Output: 5}, 0},
		{"deeper counts ignored", `{"a":{"b":{"input_tokens":9}},"output_tokens":1}`, Tokens{Output: 1}, 0},
		{"a string count", `{"input_tokens":"forty","output_tokens":1}`, Tokens{}, 1},
		{"a fraction", `{"output_tokens":1.5}`, Tokens{}, 1},
		{"a negative", `{"output_tokens":-3}`, Tokens{}, 1},
		{"trailing bytes", `{"output_tokens":3}x`, Tokens{}, 1},
		{"cut short", `{"output_tokens":3`, Tokens{}, 1},
		{"huge", `{"output_tokens":99999999999999999999}`, Tokens{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCounter(JSON)
			c.apply([]byte(tc.obj))
			if c.Tokens() != tc.want || c.Malformed() != tc.malformed || c.Seen() != (tc.malformed == 0) {
				t.Errorf("apply(%s) = %+v malformed %d seen %v; want %+v malformed %d", tc.obj, c.Tokens(), c.Malformed(), c.Seen(), tc.want, tc.malformed)
			}
		})
	}
}
