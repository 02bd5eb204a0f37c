import { render } from 'preact';
import { App } from './app.js';
import { Lobby } from './lobby.js';
import './style.css';

// The node that serves this page is the lobby: same origin, WebSocket at `/`.
// `?server=ws://host:port` points the page elsewhere (e.g. under `vite` dev).
const override = new URLSearchParams(location.search).get('server');
const url = override ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;

const lobby = new Lobby(url);
render(<App lobby={lobby} />, document.getElementById('app')!);
void lobby.start();
