// The demo CRM's page script: what a CRM does with the widget's DOM events. It logs them in the "Phone activity"
// strip, shows who is calling with a link to their card, and warns before leaving the page during a call (leaving
// unloads the widget, and the call with it). Loaded before the widget, so no early event is missed.
(function () {
  'use strict';

  var EVENTS = ['switchboard:ready', 'switchboard:incoming', 'switchboard:outgoing', 'switchboard:answered', 'switchboard:ended'];
  var MAX_ENTRIES = 30;
  var CAUSES = {
    normal: 'ended',
    'answered-elsewhere': 'answered in another tab',
    transferred: 'transferred',
    busy: 'busy',
    declined: 'declined',
    'no-answer': 'no answer',
    unavailable: 'not available',
    'not-found': 'number not found',
    cancelled: 'cancelled',
    failed: 'failed',
    timeout: 'no response',
    'connection-lost': 'connection lost',
  };

  /** Calls not yet ended, by id: leaving the page now would drop them. */
  var live = new Map();
  var queued = [];

  function who(detail) {
    var contact = detail.contact || {};
    var name = contact.name || detail.name;
    var number = detail.number || '';
    if (!name) return number || 'unknown number';
    return name + (contact.company ? ' (' + contact.company + ')' : '') + (number ? ', ' + number : '');
  }

  function duration(ms) {
    if (typeof ms !== 'number' || !(ms >= 0)) return '';
    var s = Math.round(ms / 1000);
    return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
  }

  /** A link to this CRM's own card for the caller; only for our contacts (an id) or a URL on this origin. */
  function cardLink(detail) {
    var contact = detail.contact;
    if (!contact) return null;
    var href = null;
    if (contact.id) href = '/contacts/' + encodeURIComponent(contact.id);
    else if (contact.url) {
      try {
        var url = new URL(contact.url, location.href);
        if (url.origin === location.origin) href = url.pathname + url.search + url.hash;
      } catch (e) {
        href = null;
      }
    }
    if (href === null) return null;
    var a = document.createElement('a');
    a.href = href;
    // A new tab: navigating this one would unload the widget and drop the call.
    a.target = '_blank';
    a.rel = 'noopener';
    a.textContent = 'Open card in a new tab';
    return a;
  }

  /** The widget says inbound/outbound (the SDK's words); incoming/outgoing are accepted too. */
  function isIncoming(detail) {
    return detail.direction === 'inbound' || detail.direction === 'incoming';
  }

  function describe(type, detail) {
    switch (type) {
      case 'switchboard:ready':
        return 'Phone ready' + (detail.operator && detail.operator.extension ? ': extension ' + detail.operator.extension : '');
      case 'switchboard:incoming':
        return 'Incoming call from ' + who(detail);
      case 'switchboard:outgoing':
        return 'Calling ' + who(detail);
      case 'switchboard:answered':
        return (isIncoming(detail) ? 'Answered call from ' : 'Connected to ') + who(detail);
      case 'switchboard:ended': {
        var cause = CAUSES[detail.cause] || detail.cause || 'ended';
        var parts = ['Call with ' + who(detail) + ': ' + cause];
        if (detail.sipStatus) parts.push('SIP ' + detail.sipStatus);
        if (detail.durationMs) parts.push(duration(detail.durationMs));
        return parts.join(', ');
      }
      default:
        return type;
    }
  }

  function log(type, detail) {
    var list = document.getElementById('activity');
    if (!list) return;
    var item = document.createElement('li');
    item.dataset.event = type.slice('switchboard:'.length);
    var time = document.createElement('time');
    var now = new Date();
    time.dateTime = now.toISOString();
    time.textContent = now.toLocaleTimeString();
    var text = document.createElement('span');
    text.textContent = describe(type, detail);
    item.append(time, ' ', text);
    var link = type === 'switchboard:incoming' || type === 'switchboard:answered' ? cardLink(detail) : null;
    if (link) item.append(' ', link);
    list.prepend(item);
    while (list.children.length > MAX_ENTRIES) list.lastElementChild.remove();
    var empty = document.getElementById('activity-empty');
    if (empty) empty.hidden = true;
  }

  function banner(text, link, tone) {
    var el = document.getElementById('call-banner');
    if (!el) return;
    el.replaceChildren();
    if (!text) {
      el.hidden = true;
      return;
    }
    var span = document.createElement('span');
    span.textContent = text;
    el.append(span);
    if (link) el.append(' ', link);
    el.dataset.tone = tone || 'info';
    el.hidden = false;
  }

  function phoneStatus(text, state) {
    var el = document.getElementById('phone-status');
    if (!el) return;
    el.textContent = 'Phone: ' + text;
    el.dataset.state = state;
  }

  function handle(type, detail) {
    log(type, detail);
    if (type === 'switchboard:ready') phoneStatus('ready', 'ready');
    if (detail.callId && type !== 'switchboard:ended') live.set(detail.callId, detail);
    if (type === 'switchboard:incoming') banner('Incoming call: ' + who(detail), cardLink(detail), 'ringing');
    if (type === 'switchboard:answered') {
      banner('On a call with ' + who(detail), isIncoming(detail) ? cardLink(detail) : null, 'active');
    }
    if (type === 'switchboard:ended') {
      live.delete(detail.callId);
      if (live.size === 0) banner('');
    }
  }

  EVENTS.forEach(function (type) {
    document.addEventListener(type, function (event) {
      var detail = (event && event.detail) || {};
      if (document.readyState === 'loading') queued.push([type, detail]);
      else handle(type, detail);
    });
  });

  document.addEventListener('DOMContentLoaded', function () {
    queued.splice(0).forEach(function (entry) {
      handle(entry[0], entry[1]);
    });
  });

  // 'load' waits for the async widget script to load or fail.
  window.addEventListener('load', function () {
    if (!window.Switchboard) phoneStatus('unavailable (is the gateway running?)', 'error');
    else if (document.getElementById('phone-status') && document.getElementById('phone-status').dataset.state === 'loading') {
      phoneStatus('connecting', 'connecting');
    }
  });

  window.addEventListener('beforeunload', function (event) {
    if (live.size === 0) return;
    event.preventDefault();
    // Older browsers show the prompt only when returnValue is set.
    event.returnValue = '';
  });
})();
