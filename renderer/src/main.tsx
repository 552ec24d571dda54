import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
const bridge = window.ktray;

root.render(
  <StrictMode>
    {bridge ? (
      <App bridge={bridge} />
    ) : (
      <div className="app">
        <main className="app-main">
          <div className="error-notice" role="alert">
            <div className="error-body">
              <p className="error-message">This page has no link to the Kernel Tray agent.</p>
              <p className="error-hint">Open it from the Kernel Tray app (tray icon → Show window), not on its own.</p>
            </div>
          </div>
        </main>
      </div>
    )}
  </StrictMode>,
);
