// Package usage reads the token usage a provider reports in a response body
// while the body streams past: Anthropic's usage object (and, in a stream,
// message_start's then message_delta's), OpenAI chat's usage (in a stream,
// the last chunk's), the Responses API's response.usage (in a stream,
// response.completed's), and Gemini's usageMetadata.
//
// A Counter is fed the bytes as they are read and never holds them back:
// it keeps no copy of the body, only the few hundred bytes of a usage
// object while it is being read. It knows nothing of HTTP beyond the
// Content-Type that says whether a body is JSON or server-sent events.
//
// Decisions:
//   - A usage object counts only where the APIs put it: at the top level of
//     a body or event, or directly inside its "message" or "response"
//     object. A tool's input that happens to have a "usage" key is not read.
//   - Each field a later usage object carries replaces the earlier value:
//     message_delta's output_tokens is cumulative, so adding would count
//     twice; a field a later object lacks keeps its earlier value.
//   - Tokens are what the provider reported, not re-derived: OpenAI's
//     prompt_tokens includes its cached_tokens, and both are kept as given.
//     Gemini's output is candidatesTokenCount plus thoughtsTokenCount, since
//     the other APIs count thinking as output.
package usage
