// Drives a modelgate gateway with the official OpenAI and Anthropic SDKs,
// with their default retry settings (two retries), and reports each case
// as JSON for server/sdk_test.go. MODELGATE_URL, MODELGATE_KEY and
// MODELGATE_SECRET (a credential the echo model will repeat, which an
// output guard withholds) come from the test.
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const url = process.env.MODELGATE_URL;
const key = process.env.MODELGATE_KEY;
const secret = process.env.MODELGATE_SECRET;
const openai = new OpenAI({ baseURL: url + '/v1', apiKey: key, timeout: 20000 });
const anthropic = new Anthropic({ baseURL: url, apiKey: key, timeout: 20000 });

const results = [];
async function check(name, upstreamCalls, fn) {
  try {
    await fn();
    results.push({ name, upstreamCalls, ok: true });
  } catch (e) {
    results.push({ name, upstreamCalls, ok: false, error: String((e && e.stack) || e) });
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(what);
}
const leaks = (v) => JSON.stringify(v ?? null).includes(secret);
const plain = 'hello there';
const secretPrompt = 'the key is ' + secret;
const chat = (model, content, extra = {}) => ({ model, messages: [{ role: 'user', content }], ...extra });
const claude = (content) => ({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content }] });

await check('chat', 1, async () => {
  const r = await openai.chat.completions.create(chat('m', plain));
  expect(r.choices[0].message.content === plain, JSON.stringify(r));
});
await check('chat blocked', 1, async () => {
  const r = await openai.chat.completions.create(chat('m', secretPrompt));
  const c = r.choices[0];
  expect(c.finish_reason === 'content_filter', 'finish_reason ' + c.finish_reason);
  expect(c.message.refusal && c.message.refusal.includes('secrets'), 'refusal ' + c.message.refusal);
  expect(c.content_filter_results && c.content_filter_results.secrets.filtered === true, JSON.stringify(c));
  expect(!leaks(r), 'the secret leaked');
});
await check('chat stream blocked', 1, async () => {
  const s = await openai.chat.completions.create(chat('m', secretPrompt, { stream: true }));
  let text = '', finish = null;
  for await (const c of s) {
    for (const ch of c.choices) {
      text += ch.delta?.content ?? '';
      finish = ch.finish_reason ?? finish;
    }
  }
  expect(finish === 'content_filter', 'finish_reason ' + finish);
  expect(!text.includes(secret), 'the secret leaked');
});
await check('responses', 1, async () => {
  const r = await openai.responses.create({ model: 'm', input: plain });
  expect(r.output_text === plain && r.usage.output_tokens === 2, JSON.stringify(r));
});
await check('responses blocked', 1, async () => {
  const r = await openai.responses.create({ model: 'm', input: secretPrompt });
  expect(r.status === 'incomplete' && r.incomplete_details.reason === 'content_filter', JSON.stringify(r));
  expect(r.output_text === '' && !leaks(r), 'output ' + JSON.stringify(r.output));
});
await check('responses stream', 1, async () => {
  const s = openai.responses.stream({ model: 'm', input: plain });
  let deltas = '';
  s.on('response.output_text.delta', (e) => { deltas += e.delta; });
  const r = await s.finalResponse();
  expect(r.output_text === plain && deltas === plain, JSON.stringify(r));
});
await check('responses stream blocked', 1, async () => {
  const s = openai.responses.stream({ model: 'm', input: secretPrompt });
  const r = await s.finalResponse();
  expect(r.status === 'incomplete' && r.incomplete_details.reason === 'content_filter', JSON.stringify(r));
  expect(!leaks(r), 'the secret leaked');
});
await check('messages', 1, async () => {
  const m = await anthropic.messages.create(claude(plain));
  expect(m.content[0].text === plain && m.usage.output_tokens === 2, JSON.stringify(m));
});
await check('messages blocked', 1, async () => {
  const m = await anthropic.messages.create(claude(secretPrompt));
  expect(m.stop_reason === 'refusal' && m.content.length === 0 && !leaks(m), JSON.stringify(m));
});
await check('messages stream', 1, async () => {
  const m = await anthropic.messages.stream(claude(plain)).finalMessage();
  expect(m.content[0].text === plain && m.stop_reason === 'end_turn', JSON.stringify(m));
});
await check('messages stream blocked', 1, async () => {
  const m = await anthropic.messages.stream(claude(secretPrompt)).finalMessage();
  expect(m.stop_reason === 'refusal' && !leaks(m), JSON.stringify(m));
});
await check('error mode is not retried', 1, async () => {
  try {
    await openai.chat.completions.create(chat('m-strict', secretPrompt));
  } catch (e) {
    expect(e.status === 502 && e.code === 'response_blocked', 'error ' + e);
    return;
  }
  throw new Error('no error');
});
await check('forbidden model is not retried', 0, async () => {
  try {
    await openai.chat.completions.create(chat('forbidden', plain));
  } catch (e) {
    expect(e.status === 403, 'error ' + e);
    return;
  }
  throw new Error('no error');
});
await check('anthropic errors are typed', 0, async () => {
  try {
    await anthropic.messages.create({ ...claude(plain), model: 'm' });
  } catch (e) {
    expect(e instanceof Anthropic.BadRequestError && e.error?.error?.type === 'invalid_request_error', 'error ' + e);
    return;
  }
  throw new Error('no error');
});

console.log(JSON.stringify(results));
