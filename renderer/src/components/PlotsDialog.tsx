import { useEffect, useState } from 'react';
import type { KernelSummary, PlotSummary } from '../../../electron/shared/types';
import { useAgent } from '../agent-context';
import { formatBytes, kernelDisplayName, plotClientText, plotTypeLabel, shortKernelName } from '../format';
import { useAction } from '../hooks/useAction';
import { usePlotImage } from '../hooks/usePlotImage';
import { Dialog } from './Dialog';
import { ErrorNotice } from './ErrorNotice';
import { ActionStatus } from './ActionStatus';

interface Props {
  kernelId: string;
  kernel: KernelSummary | undefined;
  /** This kernel's plots, newest first, as the agent announced them. */
  plots: PlotSummary[];
  onClose(): void;
}

/** Thumbnails drawn at once; older ones on asking (each costs a fetch of its bytes). */
const THUMBS_PAGE = 12;

const time = (at: number) => new Date(at).toLocaleTimeString();

/**
 * The plots of one kernel, from any of its frontends (a notebook, a console in tmux, an
 * editor): the newest large, then the others newest first. Live: a new plot takes the
 * large view unless the user picked one; an updated display redraws in place.
 */
export function PlotsDialog({ kernelId, kernel, plots, onClose }: Props) {
  const name = kernel ? `${kernelDisplayName(kernel)} ${shortKernelName(kernel.name)}` : kernelId;
  const [picked, setPicked] = useState<string | null>(null);
  const [shown, setShown] = useState(THUMBS_PAGE);
  // A picked plot that has gone (dropped past the limits) gives the view back to the newest.
  const current = plots.find((p) => p.id === picked) ?? plots[0] ?? null;
  useEffect(() => {
    if (picked && !plots.some((p) => p.id === picked)) setPicked(null);
  }, [picked, plots]);

  return (
    <Dialog title={`Plots of ${name}`} onClose={onClose}>
      {current ? (
        <>
          <LargePlot key={current.id} plot={current} total={plots.length} index={plots.indexOf(current)} following={picked === null} />
          {plots.length > 1 ? (
            <>
              <ul className="plot-thumbs" aria-label={`All plots of ${name}, newest first`}>
                {plots.slice(0, shown).map((p) => (
                  <li key={p.id}>
                    <Thumb plot={p} selected={p.id === current.id} onPick={() => setPicked(p.id === plots[0]!.id ? null : p.id)} />
                  </li>
                ))}
              </ul>
              {plots.length > shown ? (
                <button type="button" onClick={() => setShown((n) => n + THUMBS_PAGE)}>
                  Show {Math.min(THUMBS_PAGE, plots.length - shown)} older
                </button>
              ) : null}
            </>
          ) : null}
        </>
      ) : (
        <p className="empty muted" data-testid="no-plots">
          No plots yet. While Kernel Tray watches this kernel (attached, or Watch), every image any of its frontends shows appears
          here: a notebook, <code>jupyter console</code> in tmux, an editor.
        </p>
      )}
    </Dialog>
  );
}

function LargePlot({ plot, total, index, following }: { plot: PlotSummary; total: number; index: number; following: boolean }) {
  const { client } = useAgent();
  const image = usePlotImage(plot);
  const action = useAction();
  const size = plot.width !== null && plot.height !== null ? `${plot.width}×${plot.height}` : null;
  const facts = [`#${plot.seq}`, size, plotTypeLabel(plot.mime), formatBytes(plot.bytes), time(plot.updatedAt)].filter(Boolean).join(' · ');
  const from = plotClientText(plot);
  return (
    <figure className="plot-large" data-testid="plot-large" data-plot-id={plot.id} data-plot-version={plot.version}>
      <div className="plot-frame">
        {image.url ? (
          <img src={image.url} alt={`Plot ${plot.seq}${size ? `, ${size}` : ''}`} data-testid="plot-image" />
        ) : image.error ? (
          <ErrorNotice error={image.error} context="Could not load this plot:" />
        ) : (
          <p className="progress" role="status">
            Loading the image…
          </p>
        )}
      </div>
      <figcaption className="plot-caption">
        <span className="small" data-testid="plot-facts">
          {facts}
          {plot.version > 1 ? ` · updated ${plot.version - 1}×` : ''}
        </span>
        <span className="muted small">
          {index === 0 ? (following ? 'Newest; follows new plots' : 'Newest') : `${index + 1} of ${total}, newest first`}
          {from ? ` · ${from}` : ''}
        </span>
        {plot.code ? (
          <pre className="plot-code" data-testid="plot-code" title="The code that made it (from the kernel's execute_input)">
            {plot.executionCount !== null ? `In [${plot.executionCount}]: ` : ''}
            {plot.code}
          </pre>
        ) : null}
        <div className="button-row">
          <button
            type="button"
            disabled={action.pending !== null}
            onClick={() =>
              void action.run('Copying…', () => client.plots.copy({ id: plot.id }), (r) => (r.copied === 'image' ? 'Copied the image.' : 'Copied the SVG as text.'))
            }
          >
            Copy
          </button>
          <button
            type="button"
            disabled={action.pending !== null}
            onClick={() => void action.run('Saving…', () => client.plots.save({ id: plot.id }), (r) => (r.path ? `Saved ${r.path}` : null))}
          >
            Save as…
          </button>
        </div>
        <ActionStatus action={action} />
      </figcaption>
    </figure>
  );
}

function Thumb({ plot, selected, onPick }: { plot: PlotSummary; selected: boolean; onPick(): void }) {
  const image = usePlotImage(plot);
  const size = plot.width !== null && plot.height !== null ? `, ${plot.width}×${plot.height}` : '';
  return (
    <button type="button" className="plot-thumb" aria-pressed={selected} aria-label={`Plot ${plot.seq}${size}, ${time(plot.at)}`} onClick={onPick}>
      {image.url ? <img src={image.url} alt="" /> : <span className="muted small">#{plot.seq}</span>}
    </button>
  );
}
