import { render } from 'preact';
import { Console } from './app.js';
import './console.css';

render(<Console />, document.getElementById('console')!);
