using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Teletherapy.MediaRelay.Transport;

namespace Teletherapy.MediaRelay.Hosting;

public static class MediaRelayServiceCollectionExtensions
{
    /// <summary>Registers the relay: shared media sockets, transports and routers. Options come from <c>Media</c>.</summary>
    public static IServiceCollection AddMediaRelay(this IServiceCollection services)
    {
        services.AddOptions<MediaOptions>().BindConfiguration(MediaOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<MediaSockets>();
        services.AddHostedService(sp => sp.GetRequiredService<MediaSockets>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<MediaRelayService>();
        services.AddHostedService(sp => sp.GetRequiredService<MediaRelayService>());
        return services;
    }
}
