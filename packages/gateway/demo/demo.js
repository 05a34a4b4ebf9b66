// The demo page's only script: the client SDK, served by this gateway, driven by a few buttons. A CRM does the
// same, with its own backend minting the token (here /demo/token stands in for it).
import { createPhone } from '/client/switchboard-client.js';

const $ = (id) => document.getElementById(id);
const ui = {
  operator: $('operator'),
  signin: $('signin'),
  signout: $('signout'),
  status: $('status'),
  line: $('line'),
  whoami: $('whoami'),
  form: $('dial-form'),
  target: $('target'),
  call: $('call'),
  calls: $('calls'),
  noCalls: $('no-calls'),
  log: $('log'),
};

/** Human words for call.ended causes. */
const CAUSES = {
  normal: 'Ended',
  'answered-elsewhere': 'Answered in another tab',
  transferred: 'Transferred',
  busy: 'Busy',
  declined: 'Declined',
  'no-answer': 'No answer',
  unavailable: 'Not available',
  'not-found': 'Number not found',
  cancelled: 'Cancelled',
  failed: 'Failed',
  timeout: 'No response',
  'connection-lost': 'Connection lost',
};

let phone;
const rows = new Map();

function log(text) {
  const line = `${new Date().toLocaleTimeString()}  ${text}\n`;
  ui.log.textContent += line;
  ui.log.scrollTop = ui.log.scrollHeight;
}

// `?tokenTtl=65` on this page's URL asks for short tokens, to watch the refresh happen during a call.
const tokenTtl = new URLSearchParams(location.search).get('tokenTtl');

async function fetchToken(operatorId) {
  const query = new URLSearchParams({ operator: operatorId, ...(tokenTtl ? { ttl: tokenTtl } : {}) });
  const response = await fetch(`/demo/token?${query}`, { cache: 'no-store' });
  if (!response.ok) throw new Error(`token endpoint answered ${response.status}`);
  const { token } = await response.json();
  return token;
}

function setStatus(state, text) {
  ui.status.dataset.state = state;
  ui.status.textContent = text;
  const connected = state === 'connected';
  ui.call.disabled = !connected;
  ui.signin.disabled = state !== 'disconnected';
  ui.operator.disabled = state !== 'disconnected';
  ui.signout.disabled = state === 'disconnected';
}

function button(text, className, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.className = className;
  b.addEventListener('click', onClick);
  return b;
}

function field(className, placeholder, label, maxLength) {
  const input = document.createElement('input');
  input.className = className;
  input.placeholder = placeholder;
  input.setAttribute('aria-label', label);
  input.maxLength = maxLength;
  return input;
}

function render(call) {
  let row = rows.get(call.id);
  if (!row) {
    const li = document.createElement('li');
    li.dataset.callId = call.id;
    li.dataset.direction = call.direction;
    const title = document.createElement('div');
    const state = document.createElement('span');
    state.className = 'call-state';
    const actions = document.createElement('div');
    actions.className = 'row';
    const answer = button('Answer', 'answer', () => run(`answer ${call.id}`, () => call.answer()));
    const reject = button('Reject', 'reject secondary', () => run(`reject ${call.id}`, () => call.reject('decline')));
    const busy = button('Busy', 'busy secondary', () => run(`busy ${call.id}`, () => call.reject('busy')));
    const hangup = button('Hang up', 'hangup danger', () => run(`hang up ${call.id}`, () => call.hangup()));
    const mute = button('Mute', 'mute secondary', () => {
      const muted = mute.getAttribute('aria-pressed') !== 'true';
      call.mute(muted);
      mute.setAttribute('aria-pressed', String(muted));
      mute.textContent = muted ? 'Unmute' : 'Mute';
    });
    mute.setAttribute('aria-pressed', 'false');
    const hold = button('Hold', 'hold secondary', () => {
      const resume = call.holdState.local;
      run(`${resume ? 'resume' : 'hold'} ${call.id}`, () => (resume ? call.resume() : call.hold()));
    });
    const digits = field('digits', 'Digits', 'Digits to send', 32);
    const dtmf = button('Send digits', 'dtmf secondary', () => {
      const keys = digits.value.replace(/\s+/g, '').toUpperCase();
      digits.value = '';
      if (keys) {
        run(`digits ${keys} on ${call.id}`, async () => {
          await call.sendDtmf(keys);
          log(`call ${call.id}: sent digits ${keys}`);
        });
      }
    });
    const target = field('transfer-target', 'Transfer to', 'Number to transfer the call to', 64);
    const transfer = button('Transfer', 'transfer secondary', () => {
      const to = target.value.trim();
      if (to) {
        run(`transfer ${call.id} to ${to}`, async () => {
          await call.transfer(to);
          log(`call ${call.id}: transferred to ${to}`);
        });
      }
    });
    actions.append(answer, reject, busy, hangup, mute, hold, digits, dtmf, target, transfer);
    li.append(title, state, actions);
    ui.calls.prepend(li);
    row = { li, title, state, answer, reject, busy, hangup, mute, hold, digits, dtmf, target, transfer };
    rows.set(call.id, row);
  }
  const who = call.remote.name ? `${call.remote.name} (${call.remote.number})` : call.remote.number;
  row.title.textContent = `${call.direction === 'inbound' ? 'From' : 'To'} ${who}`;
  const ended = call.state === 'ended';
  row.li.dataset.state = call.state;
  row.li.dataset.cause = call.endCause ?? '';
  const { local, remote } = call.holdState;
  row.li.dataset.hold = ended ? '' : [local ? 'local' : '', remote ? 'remote' : ''].filter(Boolean).join(' ');
  const held = local ? 'On hold' : remote ? 'Held by the other party' : 'In call';
  row.state.textContent = ended
    ? CAUSES[call.endCause] ?? call.endCause ?? 'Ended'
    : { ringing: call.direction === 'inbound' ? 'Incoming call…' : 'Ringing…', early: 'Ringing…', active: held }[call.state] ?? call.state;
  const ringingIn = call.state === 'ringing' && call.direction === 'inbound';
  row.answer.hidden = !ringingIn;
  row.reject.hidden = !ringingIn;
  row.busy.hidden = !ringingIn;
  row.hangup.hidden = ended || ringingIn;
  row.hangup.textContent = call.state === 'active' ? 'Hang up' : 'Cancel';
  row.mute.hidden = call.state !== 'active';
  row.hold.hidden = call.state !== 'active';
  row.hold.textContent = local ? 'Resume' : 'Hold';
  row.hold.setAttribute('aria-pressed', String(local));
  // Only what the answered call offers: no digits between two operators, no transfer where the gateway has none.
  const takesDigits = call.state === 'active' && call.features !== undefined && call.features.dtmf !== 'none';
  const transferable = call.state === 'active' && call.features?.transfer === true;
  row.li.dataset.dtmf = call.features?.dtmf ?? '';
  row.digits.hidden = !takesDigits;
  row.dtmf.hidden = !takesDigits;
  row.target.hidden = !transferable;
  row.transfer.hidden = !transferable;
  ui.noCalls.hidden = rows.size > 0;
}

function track(call) {
  render(call);
  call.on('state', () => {
    log(`call ${call.id}: ${call.state}`);
    render(call);
  });
  call.on('ended', (info) => {
    log(`call ${call.id} ended: ${info.cause}${info.sipStatus ? ` (${info.sipStatus})` : ''}`);
    render(call);
  });
  call.on('hold', ({ local, remote }) => {
    log(`call ${call.id}: hold ${local ? 'here' : 'off here'}, ${remote ? 'held there' : 'not held there'}`);
    render(call);
  });
}

async function run(what, action) {
  try {
    await action();
  } catch (error) {
    log(`${what} failed: ${error.code ?? ''} ${error.message}`);
  }
}

async function signIn() {
  const operatorId = ui.operator.value;
  phone = createPhone({ url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, getToken: () => fetchToken(operatorId) });
  phone.on('connection', ({ state, reason }) => {
    log(`connection: ${state}${reason ? ` (${reason})` : ''}`);
    setStatus(state, state === 'connected' ? `signed in as ${operatorId}` : reason ? `${state}: ${reason}` : state);
  });
  phone.on('incoming', (call) => {
    log(`incoming call ${call.id} from ${call.remote.number}`);
    track(call);
  });
  phone.on('media-error', ({ kind, message }) => log(`microphone ${kind}: ${message}`));
  phone.on('line', ({ state, reason, sipStatus }) => {
    ui.line.dataset.state = state;
    ui.line.textContent =
      state === 'registered' ? 'registered'
      : state === 'none' ? 'no PBX line (calls through this gateway)'
      : `${state}${reason ? `: ${reason}` : ''}${sipStatus ? ` (${sipStatus})` : ''}`;
    log(`line: ${ui.line.textContent}`);
  });
  setStatus('connecting', 'connecting');
  try {
    const operator = await phone.connect();
    ui.whoami.textContent = `${operator.name}, extension ${operator.extension}.`;
  } catch (error) {
    log(`sign-in failed: ${error.code ?? ''} ${error.message}`);
    setStatus('disconnected', `sign-in failed: ${error.code ?? error.message}`);
    phone = undefined;
  }
}

ui.signin.addEventListener('click', () => void signIn());
ui.signout.addEventListener('click', () => {
  phone?.disconnect();
  phone = undefined;
  ui.whoami.textContent = '';
  setStatus('disconnected', 'signed out');
});
ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const target = ui.target.value.replace(/[\s()-]/g, '');
  if (!phone || target === '') return;
  void run(`call ${target}`, async () => {
    const call = await phone.call(target);
    log(`calling ${target}: ${call.id}`);
    track(call);
  });
});
setStatus('disconnected', 'signed out');
