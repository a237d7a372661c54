// The site's playground: a tiny Dolly answering in the reader's browser, with no server.
//
// ONNX Runtime Web runs the model exported by dolly_helpers/onnx_export.py (one decoding step:
// new tokens and the KV cache in, the next token's logits and the grown cache out) in
// WebAssembly; Tokenizers.js reads the model's own tokenizer.json. The prompt, the window rule, the stop tokens, the answer's extraction and the
// one-line messages are those of dolly_helpers (prompt.py, generation.py, validation.py);
// config.json, written by dolly_helpers/book/browser_playground.py, carries the strings and
// numbers they share. Elements: #instruction #context #model #max-new-tokens #ask #answer
// (data-state: loading, ready, running, done or error), #message, #stats.

const here = new URL(".", import.meta.url);
const $ = (id) => document.getElementById(id);
let config, ort, Tokenizer; // set by start()
const MAX_SEED = 2 ** 32 - 1;
const loaded = new Map(); // model name -> Promise of {session, tokenizer, entry}

// --- Dolly's prompt and answer (dolly_helpers/prompt.py) --------------------------------------

function buildPrompt(instruction, context) {
  const p = config.prompt;
  let prompt = `${p.intro}\n\n${p.instruction_key}\n${instruction}\n\n`;
  if (context !== null) prompt += `${p.input_key}\n${context}\n\n`;
  return prompt + `${p.response_key}\n`;
}

function extractResponse(generated) {
  const keys = [...generated.matchAll(/#+\s*Response:/g)];
  let text = keys.length ? generated.slice(keys.at(-1).index + keys.at(-1)[0].length) : generated;
  const end = text.search(/#+\s*End/);
  text = end >= 0 ? text.slice(0, end) : text.replace(/\s*#+\s*(?:E(?:n)?)?\s*$/, "");
  return text.trim();
}

// --- The one-line messages of dolly_helpers/validation.py and request.prepare_request --------

class InputError extends Error {}

function pyRepr(text) {
  return `str '${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

function formatG(x) { // Python's format(x, "g")
  if (x === 0) return "0";
  const exponent = Math.floor(Math.log10(Math.abs(x)));
  if (exponent < -4 || exponent >= 6) {
    const [mantissa, power] = x.toExponential(5).split("e");
    const digits = Math.abs(Number(power)).toString().padStart(2, "0");
    return `${Number(mantissa)}e${power[0] === "-" ? "-" : "+"}${digits}`;
  }
  return String(Number(x.toPrecision(6)));
}

function shown(text) { // validation._shown for a form field's text
  const value = text.trim();
  if (/^[+-]?\d+$/.test(value)) return `int ${BigInt(value)}`;
  if (value !== "" && Number.isFinite(Number(value))) return `float ${formatG(Number(value))}`;
  return pyRepr(text);
}

function wholeNumber(name, text, minimum, example) {
  const value = text.trim();
  if (!/^[+-]?\d+$/.test(value)) {
    throw new InputError(`${name} must be a whole number, got ${shown(text)}: e.g. ${name}=${example}`);
  }
  const number = Number(value);
  if (number < minimum) throw new InputError(`${name} must be at least ${minimum}, got ${number}: e.g. ${name}=${example}`);
  return number;
}

function realNumber(name, text, example) {
  const value = text.trim();
  if (value === "" || Number.isNaN(Number(value))) {
    throw new InputError(`${name} must be a number, got ${shown(text)}: e.g. ${name}=${example}`);
  }
  const number = Number(value);
  if (!Number.isFinite(number)) {
    throw new InputError(`${name} must be a finite number, got ${number > 0 ? "inf" : "-inf"}: e.g. ${name}=${example}`);
  }
  return number;
}

function checkDecoding(fields) {
  const maxNewTokens = wholeNumber("max_new_tokens", fields.maxNewTokens, 1, "64");
  const doSample = fields.decoding === "sample";
  const temperature = realNumber("temperature", fields.temperature, "0.7");
  if (temperature < 0) {
    throw new InputError(`temperature must not be negative, got ${formatG(temperature)}: sample with one above 0 (e.g. 0.7; ` +
      "1.0 keeps the model's own probabilities) or answer greedily (do_sample=False; " +
      "temperature 0 in the CLI and the playground)");
  }
  if (doSample && temperature === 0) {
    throw new InputError("temperature=0 cannot be sampled from: pass a temperature above 0 (e.g. 0.7), " +
      "or do_sample=False for greedy answers");
  }
  const topP = realNumber("top_p", fields.topP, "0.92");
  if (!(topP > 0 && topP <= 1)) {
    throw new InputError(`top_p must be above 0 and at most 1, got ${formatG(topP)}: it is the share of probability ` +
      "sampled from, e.g. 0.92 (Dolly's default) or 1.0 for every token");
  }
  const topK = wholeNumber("top_k", fields.topK, 0, "0");
  let seed = null;
  if (fields.seed.trim() !== "") {
    seed = wholeNumber("seed", fields.seed, 0, "0");
    if (seed > MAX_SEED) {
      throw new InputError(`seed must be at most ${MAX_SEED.toLocaleString("en-US")}, got ${seed.toLocaleString("en-US")}: e.g. seed=0`);
    }
  }
  return { maxNewTokens, doSample, temperature, topP, topK, seed };
}

function checkInstruction(instruction) {
  if (!instruction.trim()) throw new InputError("instruction is empty: pass the question or task as a non-empty string");
  return instruction;
}

const encode = (tokenizer, text) => tokenizer.encode(text).ids;

// request.prepare_request: refuse what does not fit; cut a passage from its end, with a warning.
// Returns the prompt's ids (a prompt that fits is tokenized once) and the warning, if any.
function prepareRequest(model, instruction, context, maxNewTokens) {
  const { tokenizer, entry } = model;
  const window = entry.window, name = entry.name;
  if (maxNewTokens > window) {
    throw new InputError(`max_new_tokens=${maxNewTokens} is more than the ${window} tokens ${name} reads in all, ` +
      `prompt and answer together: pass a smaller max_new_tokens, e.g. ${Math.min(64, Math.floor(window / 2))}`);
  }
  const passage = context.trim() ? context : null;
  const ids = encode(tokenizer, buildPrompt(instruction, passage));
  if (ids.length + maxNewTokens <= window) return { ids, warning: null };
  const bare = passage === null ? ids : encode(tokenizer, buildPrompt(instruction, null));
  if (bare.length + maxNewTokens > window) {
    if (bare.length >= window) {
      throw new InputError(`instruction is too long for ${name}: its prompt takes ${bare.length} tokens and ${name} reads ` +
        `${window} in all, prompt and answer together: shorten it by at least ` +
        `${bare.length + maxNewTokens - window} tokens to leave room for max_new_tokens=${maxNewTokens}`);
    }
    throw new InputError(`max_new_tokens=${maxNewTokens} does not fit after the instruction: its prompt takes ${bare.length} ` +
      `of the ${window} tokens ${name} reads, which leaves ${window - bare.length} for the answer: ` +
      `pass max_new_tokens=${window - bare.length} or less, or shorten the instruction`);
  }
  // Cut between tokens: the end of each of the passage's tokens, in characters.
  const passageIds = tokenizer.encode(passage, { add_special_tokens: false }).ids;
  const endOf = (n) => tokenizer.decode(passageIds.slice(0, n), { clean_up_tokenization_spaces: false }).length;
  let keep = Math.max(0, passageIds.length - (ids.length + maxNewTokens - window)), cut;
  while (true) {
    const kept = keep ? passage.slice(0, endOf(keep)) : "";
    cut = encode(tokenizer, buildPrompt(instruction, kept.trim() ? kept : null));
    if (cut.length + maxNewTokens <= window || keep === 0) break;
    keep -= 1;
  }
  const warning = `context cut by ${passageIds.length - keep} of its ${passageIds.length} tokens to fit ${name}'s ` +
    `${window}-token window (${cut.length} prompt tokens + max_new_tokens=${maxNewTokens}): ` +
    "shorten the passage or lower max_new_tokens to keep all of it";
  return { ids: cut, warning };
}

// --- Choosing the next token (greedy, or transformers' temperature, top-k, top-p) -------------

function argmax(logits) {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sample(logits, settings, random) {
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
  let kept = settings.topK > 0 ? order.slice(0, settings.topK) : order;
  const top = logits[kept[0]] / settings.temperature;
  const weights = kept.map((i) => Math.exp(logits[i] / settings.temperature - top));
  const total = weights.reduce((a, b) => a + b, 0);
  // top-p: the fewest most likely tokens whose probability reaches top_p (at least one).
  let mass = 0, n = 0;
  while (n < kept.length && (n === 0 || mass < settings.topP)) mass += weights[n++] / total;
  kept = kept.slice(0, n);
  let r = random() * mass * total;
  for (let j = 0; j < n; j++) {
    r -= weights[j];
    if (r <= 0) return kept[j];
  }
  return kept[n - 1];
}

// --- Loading and answering ----------------------------------------------------------------------

function entryOf(name) {
  return config.models.find((model) => model.name === name);
}

function load(name) {
  if (!loaded.has(name)) {
    const entry = entryOf(name);
    const folder = new URL(`models/${name}/`, here);
    loaded.set(name, (async () => {
      const [json, tokenizerConfig, session] = await Promise.all([
        fetch(new URL("tokenizer.json", folder)).then((r) => r.json()),
        fetch(new URL("tokenizer_config.json", folder)).then((r) => r.json()),
        ort.InferenceSession.create(new URL("model.onnx", folder).href,
          { executionProviders: ["wasm"], graphOptimizationLevel: "all" }),
      ]);
      return { entry, session, tokenizer: new Tokenizer(json, tokenizerConfig) };
    })());
  }
  return loaded.get(name);
}

function emptyCache(entry) {
  const { layers, heads, head_size: size } = entry.cache;
  return new ort.Tensor("float32", new Float32Array(0), [layers, 1, heads, 0, size]);
}

// One step: the new ids (the prompt, then one token) read with the cache of the ids before them.
async function step(session, ids, cache) {
  const input = new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]);
  const output = await session.run({ input_ids: input, past_keys: cache.keys, past_values: cache.values });
  return { logits: output.logits.data, cache: { keys: output.present_keys, values: output.present_values } };
}

function decodeAnswer(tokenizer, ids) {
  if (!ids.length) return "";
  const text = tokenizer.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  return text.replace(/\uFFFD+$/, ""); // half of a character, until its next token arrives
}

function setState(state, answer, message = "") {
  const box = $("answer");
  box.dataset.state = state;
  if (answer !== undefined) box.textContent = answer;
  $("message").textContent = message;
}

function readFields() {
  return {
    instruction: $("instruction").value, context: $("context").value, model: $("model").value,
    maxNewTokens: $("max-new-tokens").value, decoding: $("decoding").value, temperature: $("temperature").value,
    topP: $("top-p").value, topK: $("top-k").value, seed: $("seed").value,
  };
}

async function ask() {
  const fields = readFields();
  $("ask").disabled = true;
  $("stats").textContent = "";
  try {
    const instruction = checkInstruction(fields.instruction);
    const settings = checkDecoding(fields);
    setState("running", "", `loading ${fields.model} ...`);
    const model = await load(fields.model);
    const { ids: promptIds, warning } = prepareRequest(model, instruction, fields.context, settings.maxNewTokens);
    setState("running", "", warning || "");
    const { entry, session, tokenizer } = model;
    const random = mulberry32(settings.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]);
    const answer = [];
    const started = performance.now();
    let stop = "max_new_tokens", firstToken = null, ids = promptIds;
    let cache = { keys: emptyCache(entry), values: emptyCache(entry) };
    while (answer.length < settings.maxNewTokens) {
      const next = await step(session, ids, cache);
      const token = settings.doSample ? sample(next.logits, settings, random) : argmax(next.logits);
      firstToken ??= performance.now() - started;
      answer.push(token);
      if (token === entry.end_id) { stop = "end_key"; break; }
      if (token === entry.eos_id) { stop = "eos"; break; }
      ids = [token];
      cache = next.cache;
      $("answer").textContent = extractResponse(decodeAnswer(tokenizer, answer));
    }
    const seconds = (performance.now() - started) / 1000;
    const text = decodeAnswer(tokenizer, answer);
    if (entry.end_id === null && text.includes(config.prompt.end_key)) stop = "end_key";
    setState("done", extractResponse(text), warning || "");
    $("stats").textContent = `${answer.length} new tokens after ${promptIds.length} prompt tokens in ${seconds.toFixed(2)} s: ` +
      `${(answer.length / seconds).toFixed(1)} tokens/s, first token after ${(firstToken / 1000).toFixed(2)} s; stopped: ${stop}`;
    Object.assign($("answer").dataset, { stop, newTokens: answer.length, seconds: seconds.toFixed(3) });
  } catch (error) {
    const message = error instanceof InputError ? error.message : `the model could not answer: ${String(error.message || error).split("\n")[0]}`;
    setState("error", message, message);
  } finally {
    $("ask").disabled = false;
  }
}

// --- The form -----------------------------------------------------------------------------------

function setUp() {
  const select = $("model");
  for (const model of config.models) {
    select.add(new Option(`${model.label}, ${model.megabytes} MB`, model.name, false, model.name === config.default_model));
  }
  $("max-new-tokens").value = config.max_new_tokens;
  const examples = $("examples");
  for (const example of config.examples) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = example.instruction;
    button.addEventListener("click", () => {
      $("instruction").value = example.instruction;
      $("context").value = example.context;
    });
    examples.append(button);
  }
  const sampling = () => { $("sampling").hidden = $("decoding").value !== "sample"; };
  $("decoding").addEventListener("change", sampling);
  sampling();
  select.addEventListener("change", () => load(select.value));
  $("ask").addEventListener("click", ask);
  $("ask").disabled = false;
}

async function start() {
  config = await (await fetch(new URL("config.json", here))).json();
  ort = await import(new URL(config.scripts.onnxruntime, here).href);
  ({ Tokenizer } = await import(new URL(config.scripts.tokenizers, here).href));
  ort.env.wasm.numThreads = 1; // a static page is not cross-origin isolated: one thread
  ort.env.wasm.proxy = false;
  setUp();
  setState("loading", "", `loading ${config.default_model} ...`);
  await load(config.default_model);
  if ($("answer").dataset.state === "loading") setState("ready", "", "");
}

start().catch((error) => {
  const reason = String(error.message || error).split("\n")[0];
  setState("error", "", `the playground could not start (${reason}): reload the page; it needs a browser with WebAssembly`);
});
