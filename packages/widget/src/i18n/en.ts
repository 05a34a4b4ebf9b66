/** Every string the widget shows, in English. `{name}` marks a value filled in at run time. */
export const en = {
  'panel.title': 'Phone',
  'fab.open': 'Open phone',
  'fab.close': 'Close phone',
  'panel.close': 'Close',
  'panel.drag': 'Move the phone',

  'connection.disconnected': 'Offline',
  'connection.connecting': 'Connecting…',
  'connection.reconnecting': 'Connection lost. Reconnecting…',
  'connection.connected': 'Online: {name} ({extension})',
  'connection.refused': 'The phone gateway refused the session ({reason})',
  'line.registered': 'line registered',
  'line.unregistered': 'line not registered',
  'line.failed': 'line failed: {reason}',

  'token.unauthorized': 'Not signed in to the CRM ({status}). Retrying in {seconds} s',
  'token.server': 'Cannot get a phone token: server error ({status}). Retrying in {seconds} s',
  'token.network': 'Cannot reach the CRM for a phone token. Retrying in {seconds} s',
  'token.malformed': 'The CRM sent an unreadable phone token. Retrying in {seconds} s',

  'number.label': 'Phone number',
  'number.placeholder': 'Number',
  'number.empty': 'Enter a number to call',
  'number.character': '“{character}” cannot be dialled: use digits, +, * and #',
  'number.too-long': 'The number is too long',
  'dialpad.label': 'Dial pad',

  'action.call': 'Call',
  'action.hangup': 'Hang up',
  'action.answer': 'Answer',
  'action.reject': 'Reject',
  'action.mute': 'Mute',
  'action.unmute': 'Unmute',
  'action.open-card': 'Open card',
  'action.callback': 'Call back {who}',

  'call.dialling': 'Calling {who}…',
  'call.ringing': 'Ringing {who}…',
  'call.incoming': 'Incoming call',
  'call.in-call': 'In call with {who}',
  'call.muted': 'Microphone muted',
  'call.timer': 'Call duration',
  'call.not-placed.busy': 'Finish the current call first; the number is ready to dial',
  'call.not-placed.offline': 'Not connected yet; the number is ready to dial',
  'call.failed': 'The call could not be placed: {message}',
  'call.answer-failed': 'The call could not be answered: {message}',

  'cause.normal': 'Call ended',
  'cause.busy': 'Busy',
  'cause.unavailable': 'Not available',
  'cause.declined': 'Declined',
  'cause.no-answer': 'No answer',
  'cause.not-found': 'Not found',
  'cause.cancelled': 'Cancelled',
  'cause.failed': 'Failed',
  'cause.answered-elsewhere': 'Answered elsewhere',
  'cause.connection-lost': 'Connection lost',
  'cause.timeout': 'No response',
  'cause.transferred': 'Transferred',

  'microphone.denied': 'Microphone access was denied',
  'microphone.missing': 'No microphone was found',
  'microphone.busy': 'The microphone is in use by another application',
  'microphone.failed': 'The microphone could not be opened',

  'recent.title': 'Recent calls',
  'recent.empty': 'No calls yet',
  'recent.inbound': 'Incoming',
  'recent.outbound': 'Outgoing',
  'recent.missed': 'Missed',
  'recent.answered': 'Answered',

  'notification.title': 'Incoming call',
} as const;

export type MessageKey = keyof typeof en;
export type Catalogue = Record<MessageKey, string>;
