// The demo's "Render video" panel: the bridge's HTTP API (docs/jobs.md) from the page, no framework.
// Pick an avatar (GET /v1/avatars) or upload a photo (POST /v1/avatars), render the line in #text with the live
// panel's voice and emotion (POST /v1/jobs), follow the job (GET /v1/jobs/{id} twice a second), then play the MP4
// in the page and offer it for download. Tests read `window.demo.render`.

const $ = (id) => document.getElementById(id);
const POLL_MS = 500;
const TERMINAL = new Set(['done', 'failed', 'cancelled']);
const STAGES = {
  queued: 'waiting in the queue', starting: 'starting', speaking: 'speaking the line', listening: 'listening to the recording',
  rendering: 'rendering', storing: 'storing the video', done: 'done',
};

/**
 * What the panel shows, for tests too. `state`: loading, idle, uploading, queued, running, done, failed,
 * cancelled, or error (a request the API refused: `error` says why). `history`: each poll's state and progress.
 */
const render = {
  ready: false, state: 'loading', jobId: null, job: null, videoUrl: null, downloadUrl: null, error: null,
  avatarId: 'default', avatars: [], needsToken: false, history: [],
};
window.demo ??= {};
window.demo.render = render;

let token = sessionStorage.getItem('avatarlab-token') || '';
let generation = 0; // a new job (or a cancel) ends the previous job's polling

/** An API error as an Error with the API's `code`, `message` and `field` (docs/jobs.md, "Errors"). */
class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    Object.assign(this, { status, code, field });
  }
}

/** fetch a /v1/ path with the bearer token (when one is set); JSON in and out; API errors thrown as ApiError. */
async function api(path, { method = 'GET', json, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  let reply;
  try {
    reply = await fetch(path, { method, headers, body });
  } catch (error) {
    throw new ApiError(0, 'unreachable', `the bridge did not answer (${error.message})`);
  }
  if (reply.status === 204) return null;
  const text = await reply.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: said below */ }
  if (reply.ok) return data;
  if (reply.status === 401) showToken(true);
  const code = (data && data.error) || `http_${reply.status}`;
  let message = (data && data.message) || `${reply.status} ${reply.statusText}`.trim();
  if (reply.status === 429 && reply.headers.get('Retry-After')) message += ` (try again in ${reply.headers.get('Retry-After')} s)`;
  if (reply.status === 404 && !data && path.startsWith('/v1/avatars')) message = 'this bridge has no render API (/v1/): update avatarlab';
  throw new ApiError(reply.status, code, message, data && data.field);
}

function setStatus(text, error = false) {
  $('render-status').textContent = text;
  $('render-status').className = error ? 'error' : '';
}

/** The API's refusal, shown as it says it (with the field at fault), and kept in `render.error`. */
function showError(error, what) {
  render.error = { code: error.code || 'error', message: error.message, field: error.field || null };
  const field = error.field ? ` (${error.field})` : '';
  setStatus(`${what}: ${error.message}${field}`, true);
}

function showToken(needed) {
  render.needsToken = needed;
  $('render-token-row').hidden = !needed;
  if (needed) setStatus('this bridge needs its token: paste it above', true);
}

function setBusy(busy) {
  $('render-go').disabled = busy;
  $('render-photo').disabled = busy;
  $('render-avatar').disabled = busy;
  $('render-cancel').disabled = !busy || !render.jobId;
}

function avatarLabel(avatar) {
  const name = avatar.name || avatar.id.slice(0, 8);
  return avatar.kind === 'default' ? `${name} (default)` : `${name} (${avatar.kind})`;
}

/** Fill the avatar list from GET /v1/avatars, keeping the selection where it still exists. */
async function loadAvatars() {
  try {
    const { avatars } = await api('/v1/avatars');
    render.avatars = avatars;
    const select = $('render-avatar');
    const keep = render.avatarId;
    select.replaceChildren(...avatars.map((a) => new Option(avatarLabel(a), a.id)));
    select.value = avatars.some((a) => a.id === keep) ? keep : 'default';
    render.avatarId = select.value || 'default';
    showToken(false);
    render.state = 'idle';
    render.error = null;
    setStatus('');
    setBusy(false);
  } catch (error) {
    render.state = 'error';
    if (error.status !== 401) showError(error, 'avatars');
    setBusy(false);
    $('render-go').disabled = true;
  } finally {
    render.ready = true;
  }
}

/** Upload the chosen photo as a new avatar (the face is found and meshed on the bridge) and select it. */
async function uploadPhoto(file) {
  if (!file) return;
  const form = new FormData();
  form.append('photo', file, file.name);
  form.append('name', file.name.replace(/\.[^.]*$/, ''));
  render.state = 'uploading';
  render.error = null;
  setBusy(true);
  setStatus(`making an avatar from ${file.name}…`);
  try {
    const avatar = await api('/v1/avatars', { method: 'POST', body: form });
    render.avatars.push(avatar);
    $('render-avatar').append(new Option(avatarLabel(avatar), avatar.id));
    $('render-avatar').value = avatar.id;
    render.avatarId = avatar.id;
    render.state = 'idle';
    setStatus(`avatar ${avatarLabel(avatar)} ready`);
  } catch (error) {
    render.state = 'error';
    showError(error, 'photo');
  } finally {
    $('render-photo').value = '';
    setBusy(false);
  }
}

/** The job request: the line and the live panel's voice and emotion, this panel's avatar and size. */
function jobRequest() {
  const request = { text: $('text').value, avatar: render.avatarId, outputs: ['mp4'], size: $('render-size').value };
  const voice = $('voice') && $('voice').value;
  const emotion = $('emotion') && $('emotion').value;
  if (voice) request.voice = voice;
  if (emotion) request.emotion = emotion;
  return request;
}

function clearResult() {
  const video = $('render-video');
  video.pause();
  video.removeAttribute('src');
  video.load();
  video.hidden = true;
  $('render-download').hidden = true;
  $('render-download').removeAttribute('href');
  Object.assign(render, { videoUrl: null, downloadUrl: null, error: null, job: null, jobId: null, history: [] });
}

/** What the Render video button does: create the job, then follow it to the end. */
async function startJob() {
  const mine = ++generation;
  clearResult();
  render.state = 'queued';
  setBusy(true);
  setStatus('sending the job…');
  $('render-progress').removeAttribute('value'); // indeterminate until the job reports progress
  $('render-progress').hidden = false;
  try {
    const job = await api('/v1/jobs', { method: 'POST', json: jobRequest() });
    if (mine !== generation) return;
    render.jobId = job.id;
    setBusy(true);
    show(job);
    await follow(job.id, mine);
  } catch (error) {
    if (mine !== generation) return;
    render.state = 'error';
    $('render-progress').hidden = true;
    showError(error, 'render');
    setBusy(false);
  }
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** Poll the job about twice a second until it ends (or another job or a cancel takes over). */
async function follow(id, mine) {
  let misses = 0;
  while (mine === generation && !TERMINAL.has(render.state)) {
    await sleep(POLL_MS);
    if (mine !== generation) return;
    try {
      const job = await api(`/v1/jobs/${id}`);
      if (mine !== generation) return;
      misses = 0;
      show(job);
    } catch (error) {
      if (mine !== generation) return;
      if (error.status === 0 && ++misses < 20) { // the bridge restarting: keep trying a while
        setStatus(`${error.message}; retrying…`, true);
        continue;
      }
      render.state = 'error';
      $('render-progress').hidden = true;
      showError(error, 'job');
      setBusy(false);
      return;
    }
  }
}

/** One Job from the API onto the page: stage and progress, the error, or the finished video. */
function show(job) {
  render.job = job;
  render.state = job.state;
  const progress = job.progress || {};
  render.history.push({ state: job.state, stage: progress.stage || null, fraction: progress.fraction ?? null });
  const bar = $('render-progress');
  if (typeof progress.fraction === 'number' && job.state !== 'queued') bar.value = progress.fraction;
  if (job.state === 'queued' || job.state === 'running') {
    const stage = STAGES[progress.stage] || progress.stage || job.state;
    const frames = progress.stage === 'rendering' && progress.total ? ` frame ${progress.done} of ${progress.total}` : '';
    setStatus(`${stage}${frames}…`);
    return;
  }
  setBusy(false);
  if (job.state === 'done') {
    bar.value = 1;
    const file = (job.files || []).find((f) => f.media_type === 'video/mp4' || f.name === 'video.mp4');
    if (!file) {
      render.state = 'failed';
      showError({ code: 'no_video', message: 'the job finished without a video' }, 'render');
      return;
    }
    render.videoUrl = render.downloadUrl = file.url;
    const video = $('render-video');
    video.src = file.url;
    video.hidden = false;
    const link = $('render-download');
    link.href = file.url;
    link.textContent = `Download the MP4 (${(file.size / 1e6).toFixed(2)} MB)`;
    link.hidden = false;
    setStatus('done');
  } else if (job.state === 'failed') {
    bar.hidden = true;
    showError(job.error || { code: 'failed', message: 'the job failed' }, 'render failed');
  } else {
    bar.hidden = true;
    setStatus('cancelled');
  }
}

/** What the Cancel button does: DELETE the running job; its answer is the cancelled job. */
async function cancelJob() {
  const id = render.jobId;
  if (!id || TERMINAL.has(render.state)) return;
  $('render-cancel').disabled = true;
  const mine = ++generation; // stop polling: the DELETE's answer is the last word
  try {
    const job = await api(`/v1/jobs/${id}`, { method: 'DELETE' });
    if (mine !== generation) return;
    if (job) show(job);
    else { render.state = 'cancelled'; setStatus('cancelled'); setBusy(false); }
  } catch (error) {
    if (mine !== generation) return;
    showError(error, 'cancel');
    await follow(id, mine); // it may have finished meanwhile: show how it ended
  }
}

$('render-photo').onchange = (e) => uploadPhoto(e.target.files[0]);
$('render-avatar').onchange = (e) => { render.avatarId = e.target.value; };
$('render-go').onclick = () => startJob();
$('render-cancel').onclick = () => cancelJob();
$('render-token').onchange = (e) => {
  token = e.target.value.trim();
  sessionStorage.setItem('avatarlab-token', token);
  loadAvatars();
};
render.start = startJob;
render.cancel = cancelJob;
render.reload = loadAvatars;
loadAvatars();
