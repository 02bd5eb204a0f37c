import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { useNow } from './store.js';

/** m:ss (or h:mm:ss) of a duration; never negative. */
export function duration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export function clock(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** A time of day today, else a short date and time. */
export function when(at: number): string {
  const d = new Date(at);
  return d.toDateString() === new Date().toDateString() ? clock(at) : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** A coarse span of time ahead: "3 days", "5 h", "12 min", "40 s". */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s >= 2 * 86400) return `${Math.floor(s / 86400)} days`;
  if (s >= 2 * 3600) return `${Math.floor(s / 3600)} h`;
  if (s >= 120) return `${Math.floor(s / 60)} min`;
  return `${s} s`;
}

export function Panel(props: { title: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren; class?: string; testid?: string; id?: string }) {
  return (
    <section class={`panel ${props.class ?? ''}`} data-testid={props.testid} id={props.id}>
      <header class="panel-head">
        <h2>{props.title}</h2>
        {props.actions && <div class="panel-actions">{props.actions}</div>}
      </header>
      <div class="panel-body">{props.children}</div>
    </section>
  );
}

/**
 * Time left until `until` (server clock: `offset` is server minus local), as
 * text and, when `from` is given, a shrinking bar.
 */
export function Countdown(props: { until: number; offset: number; from?: number; label?: string; testid?: string }) {
  const now = useNow(200) + props.offset;
  const total = props.from === undefined ? 0 : props.until - props.from;
  // Never more than the whole span: the clock offset is an estimate, a few ms off either way.
  const left = total > 0 ? Math.min(total, props.until - now) : props.until - now;
  const pct = total > 0 ? Math.max(0, Math.min(100, (left / total) * 100)) : 0;
  const urgent = left < 5000;
  return (
    <div class={`countdown ${urgent ? 'urgent' : ''}`} data-testid={props.testid}>
      <span class="countdown-text">
        {left > 0 ? `${props.label ?? 'ends in'} ${Math.ceil(left / 1000)} s` : 'expired'}
      </span>
      {total > 0 && (
        <span class="bar">
          <span style={{ width: `${pct}%` }} />
        </span>
      )}
    </div>
  );
}

/** Time since `since` (server clock), ticking. */
export function Elapsed(props: { since: number; offset: number }) {
  const now = useNow(500) + props.offset;
  return <span class="mono">{duration(now - props.since)}</span>;
}

export function CopyButton(props: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
    } catch {
      // No clipboard API (plain http on another host): copy through a selection.
      const ta = document.createElement('textarea');
      ta.value = props.text;
      document.body.append(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 1500);
  };
  return (
    <button type="button" class="btn small ghost" onClick={copy} title="Copy to the clipboard">
      {done ? 'Copied ✓' : (props.label ?? 'Copy')}
    </button>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}

export function Badge(props: { children: ComponentChildren; kind?: string; title?: string }) {
  return (
    <span class={`badge ${props.kind ?? ''}`} title={props.title}>
      {props.children}
    </span>
  );
}

export function Avatar(props: { name: string }) {
  const hue = [...props.name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7);
  return (
    <span class="avatar" style={{ background: `hsl(${hue} 55% 42%)` }} aria-hidden="true">
      {props.name.trim().charAt(0).toUpperCase() || '?'}
    </span>
  );
}

export const LockIcon = () => (
  <svg class="icon" viewBox="0 0 16 16" aria-label="password" role="img">
    <path d="M4.5 7V5a3.5 3.5 0 1 1 7 0v2h.5A1 1 0 0 1 13 8v6a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1h.5Zm1.5 0h4V5a2 2 0 1 0-4 0v2Z" fill="currentColor" />
  </svg>
);

export const CrownIcon = () => (
  <svg class="icon crown" viewBox="0 0 16 16" aria-label="owner" role="img">
    <path d="M2 5l3 3 3-5 3 5 3-3-1.2 7H3.2L2 5Zm1.3 8.5h9.4v1.2H3.3z" fill="currentColor" />
  </svg>
);

/**
 * Every account starts at OpenSkill's μ 25, σ 25/3 (ordinal 0); rated
 * matches lower σ. So σ still at its start means no rated match yet.
 */
const NEW_SIGMA = 25 / 3;

/**
 * A player's rating: their OpenSkill ordinal (μ − 3σ, what docs/protocol.md
 * says to show and sort by), or "unrated" before any rated match.
 */
export function Rating(props: { rating: { mu: number; sigma: number; ordinal: number } }) {
  const r = props.rating;
  if (r.sigma >= NEW_SIGMA - 1e-9) {
    return (
      <span data-testid="rating" title="No rated match yet">
        unrated
      </span>
    );
  }
  return (
    <span data-testid="rating" title={`OpenSkill μ ${r.mu.toFixed(1)} ± σ ${r.sigma.toFixed(1)}; shown: μ − 3σ`}>
      rating {r.ordinal.toFixed(1)}
    </span>
  );
}
