/// <reference lib="dom" />
/**
 * A desktop notification for an incoming call while the page is hidden (another tab, a minimised window), so the
 * operator does not miss it. Permission is asked for only from a gesture inside the widget, once, never on load:
 * browsers block prompts that come out of nowhere, and people deny them.
 */

export interface NotifierEnvironment {
  Notification: typeof Notification | undefined;
  document: Pick<Document, 'hidden'>;
  focusWindow: () => void;
}

export class IncomingNotifier {
  private asked = false;
  private current: Notification | undefined;

  constructor(private readonly env: NotifierEnvironment) {}

  /** From a user gesture inside the widget: asks once, if the browser has not been asked yet. */
  askOnce(): void {
    const N = this.env.Notification;
    if (this.asked || !N || N.permission !== 'default') return;
    this.asked = true;
    try {
      void N.requestPermission().catch(() => {});
    } catch {
      // Old Safari's callback form, or no prompt allowed here: no notifications, the phone still rings.
    }
  }

  /** Shows one notification for the ringing call if the page is hidden and notifications are allowed. */
  show(title: string, body: string, tag: string, onClick: () => void): void {
    const N = this.env.Notification;
    if (!N || N.permission !== 'granted' || !this.env.document.hidden) return;
    this.close();
    try {
      const notification = new N(title, { body, tag, requireInteraction: true });
      notification.onclick = () => {
        this.env.focusWindow();
        onClick();
        notification.close();
      };
      this.current = notification;
    } catch {
      // Some browsers allow notifications only from a service worker; the ringtone still plays.
    }
  }

  close(): void {
    try {
      this.current?.close();
    } catch {
      // Already gone.
    }
    this.current = undefined;
  }
}
